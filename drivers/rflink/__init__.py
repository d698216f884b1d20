"""433 MHz sensors through an RFLink serial gateway: pure codec + serial transport."""

from drivers.rflink.codec import DeviceSpec, Heard
from drivers.rflink.transport import RflinkDriver

__all__ = ["DeviceSpec", "Heard", "RflinkDriver"]
