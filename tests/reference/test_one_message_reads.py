"""The services' one-message reads answer exactly what the same reads in a tenant transaction answer.

Each hot read (``read_*``, and the lists that moved to ``tenant_read``) is one
query in a one-message transaction; where a list must tell "nothing" from "no
such parent", the query starts from the parent row. Checked on the installed
platform, as each service's own role, against the transaction path the writes
still use: the same rows, the same 404s, another tenant's rows never seen. Each test
holds a transaction open while it reads, hence two connections.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from reference.device.model import DeviceRegistry
from reference.device.seed import seed_device_id
from reference.directory.model import Directory
from reference.directory.seed import seed_user_id
from reference.license.model import Licensing
from reference.license.seed import seed_license_id
from reference.platform.errors import NotFound
from reference.platform.pool import Pool
from reference.platform.seeding import TENANT_A, TENANT_B
from reference.platform.tenancy import tenant_transaction
from tests.reference.service_pool import run_with_pool


def test_directory_reads(fitgate_installed_database: str) -> None:
    directory = Directory()
    carol = seed_user_id(TENANT_A, "carol")  # no roles
    alice = seed_user_id(TENANT_A, "alice")  # admin and clinician

    async def check(pool: Pool) -> None:
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            assert await directory.read_user(pool, TENANT_A.id, alice) == await directory.get_user(tx, alice)
            assert await directory.read_roles_of_user(pool, TENANT_A.id, alice) == (
                await directory.roles_of_user(tx, alice)
            )
        assert [r["role_name"] for r in await directory.read_roles_of_user(pool, TENANT_A.id, alice)] == [
            "admin",
            "clinician",
        ]
        assert await directory.read_roles_of_user(pool, TENANT_A.id, carol) == []
        assert (await directory.read_tenant(pool, TENANT_A.id))["name"] == TENANT_A.name
        page = await directory.list_users(pool, TENANT_A.id, status=None, after=None, limit=2)
        assert [u["username"] for u in page] == ["alice", "bob"]
        rest = await directory.list_users(pool, TENANT_A.id, status="active", after="bob", limit=10)
        assert [u["username"] for u in rest] == ["carol"]
        assert await directory.list_users(pool, TENANT_A.id, status="deactivated", after=None, limit=10) == []
        roles = await directory.list_roles(pool, TENANT_A.id, after=None, limit=10)
        assert [r["name"] for r in roles] == ["admin", "clinician"]
        assert (await directory.read_role(pool, TENANT_A.id, UUID(roles[0]["id"])))["name"] == "admin"
        for read in (
            directory.read_user(pool, TENANT_B.id, alice),  # another tenant's user: not found
            directory.read_roles_of_user(pool, TENANT_B.id, alice),
            directory.read_role(pool, TENANT_B.id, UUID(roles[0]["id"])),
            directory.read_user(pool, TENANT_A.id, uuid4()),
        ):
            with pytest.raises(NotFound):
                await read
        assert [
            u["username"]
            for u in await directory.list_users(pool, TENANT_B.id, status=None, after=None, limit=9)
        ] == [
            "dave",
            "erin",
        ]

    run_with_pool(check, fitgate_installed_database, "directory", pool_size=2)


def test_license_reads(fitgate_installed_database: str) -> None:
    licensing = Licensing()
    license_id = seed_license_id(TENANT_A)
    alice = seed_user_id(TENANT_A, "alice")
    carol = seed_user_id(TENANT_A, "carol")

    async def check(pool: Pool) -> None:
        read = await licensing.read_license(pool, TENANT_A.id, license_id)
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            held = (await licensing.assigned_counts(tx, [license_id]))[license_id]
            assert read == {**await licensing.get_license(tx, license_id), "seats_assigned": held}
            seats = await licensing.seats_of_license(
                pool, TENANT_A.id, license_id, status=None, after=None, limit=10
            )
            assert len(seats) == held == 2
            for seat in seats:
                one = await licensing.read_seat(pool, TENANT_A.id, license_id, UUID(seat["id"]))
                assert one == seat == await licensing.get_seat(tx, license_id, UUID(seat["id"]))
        assert [
            lic["id"]
            for lic in await licensing.list_licenses(pool, TENANT_A.id, status=None, after=None, limit=10)
        ] == [str(license_id)]
        assert await licensing.list_licenses(pool, TENANT_A.id, status="revoked", after=None, limit=10) == []
        first = UUID(seats[0]["id"])
        after = await licensing.seats_of_license(
            pool, TENANT_A.id, license_id, status=None, after=first, limit=10
        )
        assert after == seats[1:]
        released = await licensing.seats_of_license(
            pool, TENANT_A.id, license_id, status="released", after=None, limit=10
        )
        assert released == []  # the license exists: an empty page, not a 404
        assert [
            s["user_id"] for s in await licensing.seats_of_user(pool, TENANT_A.id, alice, status=None)
        ] == [str(alice)]
        assert await licensing.seats_of_user(pool, TENANT_A.id, carol, status="assigned") == []
        assert len(await licensing.list_plans(pool)) == 4
        plan = (await licensing.list_plans(pool))[0]
        assert await licensing.read_plan(pool, UUID(plan["id"])) == plan
        for missing in (
            licensing.read_license(pool, TENANT_B.id, license_id),
            licensing.seats_of_license(pool, TENANT_B.id, license_id, status=None, after=None, limit=10),
            licensing.read_seat(pool, TENANT_A.id, seed_license_id(TENANT_B), first),  # not of that license
            licensing.seats_of_user(pool, TENANT_B.id, alice, status=None),
            licensing.read_plan(pool, uuid4()),
        ):
            with pytest.raises(NotFound):
                await missing

    run_with_pool(check, fitgate_installed_database, "license", pool_size=2)


def test_device_reads(fitgate_installed_database: str) -> None:
    registry = DeviceRegistry()
    with_certificates = seed_device_id(TENANT_A, "IP-3000-0002")
    without = seed_device_id(TENANT_B, "LP-0000")  # its certificate moved to LP-0001

    async def check(pool: Pool) -> None:
        async with tenant_transaction(pool, TENANT_A.id) as tx:
            device = await registry.read_device(pool, TENANT_A.id, with_certificates)
            assert device == await registry.get_device(tx, with_certificates)
            bound = await registry.certificates_of_device(pool, TENANT_A.id, with_certificates)
            assert [c["device_id"] for c in bound] == [str(with_certificates)]
            for certificate in bound:
                one = await registry.read_certificate(pool, TENANT_A.id, UUID(certificate["id"]))
                assert one == certificate == await registry.get_certificate(tx, UUID(certificate["id"]))
        listed = await registry.list_certificates(
            pool, TENANT_A.id, status=None, device_id=with_certificates, after=None, limit=10
        )
        assert listed == bound
        assert await registry.certificates_of_device(pool, TENANT_B.id, without) == []
        pumps = await registry.list_devices(
            pool, TENANT_A.id, status="active", kind="infusion-pump", after=None, limit=10
        )
        assert [d["serial_number"] for d in pumps] == ["IP-3000-0001", "IP-3000-0002"]
        later = await registry.list_devices(
            pool, TENANT_A.id, status=None, kind=None, after="IP-3000-0001", limit=1
        )
        assert [d["serial_number"] for d in later] == ["IP-3000-0002"]
        revoked = await registry.list_certificates(
            pool, TENANT_A.id, status="revoked", device_id=None, after=None, limit=10
        )
        assert [c["common_name"] for c in revoked] == [f"pump-bed1-retired.{TENANT_A.name}"]
        for missing in (
            registry.read_device(pool, TENANT_B.id, with_certificates),
            registry.certificates_of_device(pool, TENANT_B.id, with_certificates),
            registry.read_certificate(pool, TENANT_B.id, UUID(bound[0]["id"])),
            registry.certificates_of_device(pool, TENANT_A.id, uuid4()),
        ):
            with pytest.raises(NotFound):
                await missing

    run_with_pool(check, fitgate_installed_database, "device", pool_size=2)
