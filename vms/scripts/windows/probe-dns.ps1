# Probe: does a lookup of Name at Server get an answer? One JSON line.
param([Parameter(Mandatory)][string]$Server, [Parameter(Mandatory)][string]$Name)
$answers = @(Resolve-DnsName -Name $Name -Server $Server -DnsOnly -QuickTimeout -ErrorAction SilentlyContinue)
[pscustomobject]@{ probe = 'dns'; server = $Server; name = $Name; answered = ($answers.Count -gt 0) } | ConvertTo-Json -Compress
