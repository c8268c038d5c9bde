# Probe: does a TCP connection to Address:Port open? One JSON line.
param([Parameter(Mandatory)][string]$Address, [Parameter(Mandatory)][int]$Port, [int]$TimeoutMs = 3000)
$client = [System.Net.Sockets.TcpClient]::new()
try {
    $reached = $client.ConnectAsync($Address, $Port).Wait($TimeoutMs)
} catch {
    $reached = $false
} finally {
    $client.Dispose()
}
[pscustomobject]@{ probe = 'tcp'; address = $Address; port = $Port; reached = [bool]$reached } | ConvertTo-Json -Compress
