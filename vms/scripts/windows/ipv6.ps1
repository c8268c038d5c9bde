# Trigger: IPv6 is switched off or on for the adapter (the TCP/IPv6 binding).
param([Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)][ValidateSet('on', 'off')][string]$State)
if ($State -eq 'off') {
    Disable-NetAdapterBinding -Name $Name -ComponentID ms_tcpip6
} else {
    Enable-NetAdapterBinding -Name $Name -ComponentID ms_tcpip6
}
