# Trigger: Windows restarts itself (an orderly reboot).
Restart-Computer -Force
