"""A cellular modem (SIMCom SIM7600, Quectel EC2x) as the hub's second alarm path: SMS over AT commands.

Pure codecs (``gsm7``, ``pdu``, ``reassembly``, ``at``), the AT dialogue (``channel``) and the
transport (``transport.Modem``) on the shared serial link. docs/modem.md says which modems and why.
"""

from drivers.modem.transport import Modem
from drivers.modem.types import IncomingSms, ModemError, ModemStatus

__all__ = ["IncomingSms", "Modem", "ModemError", "ModemStatus"]
