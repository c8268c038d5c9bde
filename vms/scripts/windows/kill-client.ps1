# Trigger: the VPN client crashes (every process of that name is killed, by its id).
param([Parameter(Mandatory)][string]$ProcessName)
$found = @(Get-Process -Name $ProcessName -ErrorAction SilentlyContinue)
if ($found.Count -eq 0) { throw "no process named $ProcessName" }
foreach ($process in $found) { Stop-Process -Id $process.Id -Force }
