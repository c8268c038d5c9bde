# Trigger: Wi-Fi drops or reconnects to a profile (netsh wlan).
param([Parameter(Mandatory)][ValidateSet('connect', 'disconnect')][string]$Action, [string]$ProfileName = '')
if ($Action -eq 'disconnect') {
    netsh wlan disconnect
} else {
    if (-not $ProfileName) { throw 'connect needs -ProfileName' }
    netsh wlan connect "name=$ProfileName"
}
if ($LASTEXITCODE) { exit $LASTEXITCODE }
