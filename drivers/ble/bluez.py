"""The real radio: bleak over BlueZ, connections made by bleak-retry-connector.

bleak-retry-connector is there because BlueZ on a Pi fails connections in
transient ways (``org.bluez.Error.InProgress``, a stale device cache, the
adapter busy scanning); it retries those with the right waits and cache
clearing, which is easy to get wrong by hand.
"""

from __future__ import annotations

from collections.abc import Callable

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak_retry_connector import establish_connection

from drivers.ble.driver import Advert


class BleakLink:
    def __init__(self, client: BleakClient) -> None:
        self._client = client

    async def start_notify(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        def on_notify(_: BleakGATTCharacteristic, data: bytearray) -> None:
            callback(bytes(data))

        await self._client.start_notify(uuid, on_notify)

    async def read(self, uuid: str) -> bytes:
        return bytes(await self._client.read_gatt_char(uuid))

    async def write(self, uuid: str, data: bytes) -> None:
        await self._client.write_gatt_char(uuid, data, response=True)

    async def disconnect(self) -> None:
        await self._client.disconnect()


class BleakRadio:
    def __init__(self, adapter: str = "hci0") -> None:
        self.adapter = adapter
        self._scanner: BleakScanner | None = None
        self._devices: dict[str, BLEDevice] = {}

    async def start_scan(self, on_advert: Callable[[Advert], None]) -> None:
        def detected(device: BLEDevice, adv: AdvertisementData) -> None:
            self._devices[device.address.upper()] = device
            on_advert(Advert(device.address, adv.local_name or device.name, float(adv.rssi)))

        self._scanner = BleakScanner(detection_callback=detected, bluez={"adapter": self.adapter})
        await self._scanner.start()

    async def stop_scan(self) -> None:
        if self._scanner is not None:
            await self._scanner.stop()
            self._scanner = None

    async def connect(self, address: str, on_disconnect: Callable[[], None], attempt_timeout_s: float) -> BleakLink:
        device = self._devices.get(address.upper())
        if device is None:
            raise LookupError(f"{address} has not been seen by the scanner")
        client = await establish_connection(
            BleakClient, device, address, disconnected_callback=lambda _: on_disconnect(), max_attempts=3,
            timeout=attempt_timeout_s,
        )
        return BleakLink(client)
