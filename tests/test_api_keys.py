"""API keys: their text, hashing, issuing, revoking, and authenticating with a cache.

The store is the real one (``gateway.store.KeyStore`` on the test database);
the authenticator's clock is a test clock, so cache expiry is exact.
"""

from __future__ import annotations

import hashlib

import pytest

from calcwire import errors
from calcwire.tenancy import check_tenant, is_open_method, is_valid_tenant
from gateway.keys import (
    ApiKey,
    Authenticator,
    bearer_token,
    create_api_key,
    format_key,
    hash_secret,
    parse_key,
    revoke_api_key,
)
from gateway.store import KeyStore

pytestmark = pytest.mark.stack


def reason_of(exc: pytest.ExceptionInfo[errors.CalcwireError]) -> str:
    return exc.value.reason


class TestKeyText:
    def test_format_and_parse_round_trip(self) -> None:
        token = format_key("0123456789abcdef", "a" * 40)
        assert token == "cw_0123456789abcdef_" + "a" * 40
        assert parse_key(token) == ("0123456789abcdef", "a" * 40)

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "cw_0123456789abcdef",
            "cw_0123456789ABCDEF_" + "a" * 40,  # the id is lower-case hex
            "cw_0123456789abcde_" + "a" * 40,  # 15 digits
            "cw_0123456789abcdef_" + "a" * 39,
            "cw_0123456789abcdef_" + "a" * 39 + "-",
            "xx_0123456789abcdef_" + "a" * 40,
        ],
    )
    def test_malformed_keys_are_invalid(self, token: str) -> None:
        with pytest.raises(errors.Unauthenticated) as caught:
            parse_key(token)
        assert caught.value.reason == "API_KEY_INVALID"

    def test_bearer_header(self) -> None:
        assert bearer_token("Bearer abc") == "abc"
        assert bearer_token("  bEaReR   abc ") == "abc"
        for missing in (None, "", "   "):
            with pytest.raises(errors.Unauthenticated) as caught:
                bearer_token(missing)
            assert caught.value.reason == "API_KEY_MISSING"
        for bad in ("abc", "Basic abc", "Bearer a b", "Bearer"):
            with pytest.raises(errors.Unauthenticated) as caught:
                bearer_token(bad)
            assert caught.value.reason == "API_KEY_INVALID"

    def test_the_hash_is_sha256_of_the_secret(self) -> None:
        assert hash_secret("s3cret") == hashlib.sha256(b"s3cret").digest()


class TestTenantIds:
    @pytest.mark.parametrize("tenant", ["acme", "a", "team-7", "x_y.z", "0", "a" * 63])
    def test_valid(self, tenant: str) -> None:
        assert is_valid_tenant(tenant) and check_tenant(tenant) == tenant

    @pytest.mark.parametrize("tenant", ["", "Acme", "-x", ".x", "a b", "a/b", "a" * 64, "é"])
    def test_invalid(self, tenant: str) -> None:
        assert not is_valid_tenant(tenant)
        with pytest.raises(errors.InvalidArgument) as caught:
            check_tenant(tenant)
        assert caught.value.reason == "INVALID_TENANT"

    def test_open_methods_are_health_and_reflection_only(self) -> None:
        assert is_open_method("/grpc.health.v1.Health/Check")
        assert is_open_method("/grpc.health.v1.Health/Watch")
        assert is_open_method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        assert is_open_method("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        assert not is_open_method("/calcwire.workbooks.v1.WorkbookService/GetModel")
        assert not is_open_method("/grpc.health.v1.HealthX/Check")


class TestIssuingAndRevoking:
    async def test_a_new_key_is_stored_hashed(self, key_store: KeyStore) -> None:
        issued = await create_api_key(key_store, "acme", "  ci pipeline ")
        key_id, secret = parse_key(issued.token)
        assert key_id == issued.key.key_id
        assert (issued.key.tenant, issued.key.name, issued.key.revoked) == (
            "acme",
            "ci pipeline",
            False,
        )
        stored = await key_store.get_key(key_id)
        assert stored is not None and stored.secret_sha256 == hash_secret(secret)
        assert secret not in repr(issued) and secret not in repr(stored)

    async def test_keys_are_unique(self, key_store: KeyStore) -> None:
        tokens = {(await create_api_key(key_store, "acme")).token for _ in range(20)}
        assert len(tokens) == 20 and len({parse_key(t)[0] for t in tokens}) == 20

    async def test_bad_input_is_refused(self, key_store: KeyStore) -> None:
        with pytest.raises(errors.InvalidArgument) as caught:
            await create_api_key(key_store, "Not A Tenant")
        assert caught.value.reason == "INVALID_TENANT"
        with pytest.raises(errors.InvalidArgument) as caught:
            await create_api_key(key_store, "acme", "x" * 201)
        assert caught.value.reason == "INVALID_NAME"
        with pytest.raises(errors.InvalidArgument) as caught:
            await revoke_api_key(key_store, "nope")
        assert caught.value.reason == "INVALID_KEY_ID"
        with pytest.raises(errors.NotFound) as missing:
            await revoke_api_key(key_store, "ffffffffffffffff")
        assert missing.value.reason == "KEY_NOT_FOUND"

    async def test_revoking_twice_keeps_the_first_time(self, key_store: KeyStore) -> None:
        issued = await create_api_key(key_store, "acme")
        first, already = await revoke_api_key(key_store, issued.key.key_id)
        assert first.revoked and not already
        second, already = await revoke_api_key(key_store, issued.key.key_id)
        assert already and second.revoked_at == first.revoked_at

    async def test_list_by_tenant(self, key_store: KeyStore) -> None:
        mine = [await create_api_key(key_store, "list-one", f"k{i}") for i in range(3)]
        await create_api_key(key_store, "list-two")
        listed = await key_store.list_keys("list-one")
        assert [k.key_id for k in listed] == [k.key.key_id for k in mine]  # oldest first
        everyone = {k.tenant for k in await key_store.list_keys()}
        assert {"list-one", "list-two"} <= everyone
        assert await key_store.list_keys("nobody-has-this") == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore:
    """The real store, counting lookups (to see the cache work)."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self.lookups = 0

    async def get_key(self, key_id: str) -> ApiKey | None:
        self.lookups += 1
        return await self.store.get_key(key_id)


class TestAuthenticator:
    async def test_a_valid_key_gives_its_principal(self, key_store: KeyStore) -> None:
        issued = await create_api_key(key_store, "acme")
        authenticator = Authenticator(key_store.get_key, cache_seconds=5)
        principal = await authenticator.authenticate(f"Bearer {issued.token}")
        assert (principal.key_id, principal.tenant) == (issued.key.key_id, "acme")

    async def test_lookups_are_cached_until_they_expire(self, key_store: KeyStore) -> None:
        issued = await create_api_key(key_store, "acme")
        counting, clock = CountingStore(key_store), Clock()
        authenticator = Authenticator(counting.get_key, cache_seconds=5, clock=clock)
        header = f"Bearer {issued.token}"
        for _ in range(3):
            await authenticator.authenticate(header)
        assert counting.lookups == 1

        await revoke_api_key(key_store, issued.key.key_id)
        clock.now += 4.9
        await authenticator.authenticate(header)  # still the cached answer
        clock.now += 0.2
        with pytest.raises(errors.Unauthenticated) as caught:
            await authenticator.authenticate(header)
        assert caught.value.reason == "API_KEY_REVOKED"
        assert counting.lookups == 2

    async def test_unknown_ids_are_cached_too(self, key_store: KeyStore) -> None:
        counting = CountingStore(key_store)
        authenticator = Authenticator(counting.get_key, cache_seconds=5)
        for _ in range(3):
            with pytest.raises(errors.Unauthenticated):
                await authenticator.authenticate("Bearer cw_00000000000000aa_" + "x" * 40)
        assert counting.lookups == 1

    async def test_zero_cache_asks_every_time(self, key_store: KeyStore) -> None:
        issued = await create_api_key(key_store, "acme")
        counting = CountingStore(key_store)
        authenticator = Authenticator(counting.get_key, cache_seconds=0)
        for _ in range(3):
            await authenticator.authenticate(f"Bearer {issued.token}")
        assert counting.lookups == 3

    async def test_the_cache_is_bounded(self, key_store: KeyStore) -> None:
        counting = CountingStore(key_store)
        authenticator = Authenticator(counting.get_key, cache_seconds=60, max_entries=2)
        ids = ["00000000000000a1", "00000000000000a2", "00000000000000a3"]
        for key_id in [*ids, ids[0]]:
            with pytest.raises(errors.Unauthenticated):
                await authenticator.authenticate(f"Bearer cw_{key_id}_" + "x" * 40)
        assert counting.lookups == 4  # a1 was evicted by a3, so it is looked up again

    async def test_a_wrong_secret_of_a_revoked_key_reveals_nothing(
        self, key_store: KeyStore
    ) -> None:
        issued = await create_api_key(key_store, "acme")
        await revoke_api_key(key_store, issued.key.key_id)
        authenticator = Authenticator(key_store.get_key, cache_seconds=5)
        forged = format_key(issued.key.key_id, "Z" * 40)
        with pytest.raises(errors.Unauthenticated) as caught:
            await authenticator.authenticate(f"Bearer {forged}")
        assert caught.value.reason == "API_KEY_INVALID"
