# Facts: the firewall's profiles and the WFP filters in force (what a kill switch installed).
param([Parameter(Mandatory)][string]$OutFile)
netsh advfirewall show allprofiles state
if ($LASTEXITCODE) { exit $LASTEXITCODE }
netsh wfp show filters "file=$OutFile"
if ($LASTEXITCODE) { exit $LASTEXITCODE }
