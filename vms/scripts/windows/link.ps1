# Trigger: the adapter goes down or comes back (link events), as a user or a driver would.
param([Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)][ValidateSet('up', 'down')][string]$State)
if ($State -eq 'down') {
    Disable-NetAdapter -Name $Name -Confirm:$false
} else {
    Enable-NetAdapter -Name $Name -Confirm:$false
}
