"""What the lab demonstrates and measures: ``evidence`` reads what the lab recorded (alerts,
power log, fence requests, the hypervisor truth, Pacemaker's placement), ``power_cut``
times one power cut of a host from it, ``demo`` is `xenha lab demo`."""
