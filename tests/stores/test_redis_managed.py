"""Managed Redis: an existing client works like a URL, ACL users, and the Cluster key layout on a
real 3-node `redis-server --cluster-enabled yes` (skipped loudly where one cannot start)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("redis")

import redis
import redis.cluster
import redis.sentinel

import tabsession
from tabsession.stores import AsyncRedisStore, RedisStore, StoredSession, session_key
from tests.stores._support import (
    emulator,
    free_port,
    pat,
    ping,
    require_redis,
    running_cluster,
    running_redis,
)

pytestmark = pytest.mark.redis

KEY = session_key("https://tableau.example.com", "finance", "pat:ci-bot")


def record(generation: int) -> StoredSession:
    return StoredSession(
        token=f"token-{generation}",
        site_id="site",
        site_content_url="finance",
        user_id="user",
        generation=generation,
        signed_in_at=1.0,
        last_used_at=1.0,
        server="https://tableau.example.com",
        credential_id="pat:ci-bot",
    )


def test_an_existing_client_shares_the_session_of_a_url() -> None:
    require_redis()
    with running_redis() as server, emulator() as emu:
        client = redis.Redis.from_url(server.url)
        by_client = RedisStore(client)
        by_url = RedisStore(server.url)
        with (
            tabsession.Client(emu.url, pat(), store=by_client) as first,
            tabsession.Client(emu.url, pat(), store=by_url) as second,
        ):
            first.get("projects")
            second.get("projects")
            first.get("projects")
        assert emu.stats()["signins"] == 1, "one session shared through both stores"
        assert client.ping(), "a client passed in is left open"
        assert client.exists(by_client.record_key(KEY)) == 0
        assert [k for k in client.keys("*") if not k.startswith(b"{tabsession}:")] == []
        client.close()


def test_acl_user_and_password_by_keyword_or_url() -> None:
    require_redis()
    with running_redis() as server:
        admin = redis.Redis.from_url(server.url)
        admin.acl_setuser(
            "tabsession",
            enabled=True,
            passwords=["+acl-PASSWORD-9"],
            keys=["{tabsession}:*"],
            commands=["+@all"],
        )
        admin.close()
        by_keyword = RedisStore(server.url, username="tabsession", password="acl-PASSWORD-9")
        by_url = RedisStore(f"redis://tabsession:acl-PASSWORD-9@127.0.0.1:{server.port}/0")
        assert by_keyword.acquire(KEY, "a", 5)
        assert by_keyword.publish(KEY, record(1), "a")
        loaded = by_url.load(KEY)
        assert loaded is not None
        assert loaded.generation == 1
        assert "acl-PASSWORD" not in repr(by_url)
        by_keyword.close()
        by_url.close()
        with pytest.raises(tabsession.ConfigurationError, match="rejected the credentials"):
            RedisStore(server.url, username="tabsession", password="wrong").load(KEY)


def test_cluster_keys_of_a_record_share_one_slot() -> None:
    with running_cluster(3) as nodes, emulator() as emu:
        cluster = redis.cluster.RedisCluster(host="127.0.0.1", port=nodes[0].port)
        store = RedisStore(cluster)
        assert store.acquire(KEY, "a", 5)
        assert store.publish(KEY, record(1), "a")
        store.touch(KEY, 1, 2.0)
        store.wait(KEY, 0, 1.0)
        loaded = store.load(KEY)
        assert loaded is not None
        assert loaded.last_used_at == 2.0
        store.release(KEY, "a")
        keys = [store.record_key(KEY), store.lock_key(KEY), f"{store.prefix}secret"]
        assert len({cluster.keyslot(k) for k in keys}) == 1, "one slot for a record's keys"

        with (
            tabsession.Client(emu.url, pat(), store=RedisStore(cluster)) as first,
            tabsession.Client(emu.url, pat(), store=RedisStore(cluster)) as second,
        ):
            first.get("projects")
            second.get("projects")
        assert emu.stats()["signins"] == 1

        with pytest.raises(ValueError, match="hash tag"):
            RedisStore(cluster, prefix="tabsession:")
        cluster.close()

        async def with_asyncio_cluster() -> None:
            import redis.asyncio.cluster

            async_cluster = redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=nodes[1].port)
            store = AsyncRedisStore(async_cluster)
            assert await store.acquire(KEY, "b", 5)
            assert await store.publish(KEY, record(2), "b")
            loaded = await store.load(KEY)
            assert loaded is not None
            assert loaded.generation == 2
            await store.release(KEY, "b")
            await async_cluster.aclose()

        asyncio.run(with_asyncio_cluster())


def _tls_files(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl), or a loud skip."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("REDIS TLS TEST NOT RUN: no openssl binary to make a test certificate")
    files = {name: directory / name for name in ("ca.key", "ca.crt", "server.key", "server.csr")}
    files["server.crt"] = directory / "server.crt"
    extensions = directory / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", files["ca.key"],
         "-out", files["ca.crt"], "-days", "1", "-subj", "/CN=tabsession-test-ca"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", files["server.key"],
         "-out", files["server.csr"], "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", files["server.csr"], "-CA", files["ca.crt"], "-CAkey",
         files["ca.key"], "-CAcreateserial", "-out", files["server.crt"], "-days", "1",
         "-extfile", extensions],
    ]  # fmt: skip
    for step in steps:
        subprocess.run([openssl, *map(str, step)], check=True, capture_output=True, timeout=60)
    return files


def test_rediss_url_with_an_acl_user(tmp_path: Path) -> None:
    require_redis()
    files = _tls_files(tmp_path)
    tls_port = free_port()
    tls = ["--tls-port", str(tls_port), "--tls-auth-clients", "no"]
    tls += ["--tls-cert-file", str(files["server.crt"]), "--tls-key-file", str(files["server.key"])]
    tls += ["--tls-ca-cert-file", str(files["ca.crt"])]
    try:
        context = running_redis(*tls)
        server = context.__enter__()
    except RuntimeError as exc:
        pytest.skip(f"REDIS TLS TEST NOT RUN: this redis-server has no TLS support ({exc})")
    try:
        admin = redis.Redis.from_url(server.url)
        admin.acl_setuser(
            "tabsession", enabled=True, passwords=["+tls-PASSWORD-3"], keys=["{tabsession}:*"],
            commands=["+@all"],
        )  # fmt: skip
        admin.close()
        url = f"rediss://tabsession:tls-PASSWORD-3@127.0.0.1:{tls_port}/0"
        store = RedisStore(f"{url}?ssl_ca_certs={files['ca.crt']}")
        assert store.acquire(KEY, "a", 5)
        assert store.publish(KEY, record(1), "a")
        assert store.load(KEY) is not None
        assert store.client.connection_pool.connection_class.__name__ == "SSLConnection"
        assert "tls-PASSWORD" not in repr(store)
        store.close()
    finally:
        context.__exit__(None, None, None)


def test_a_sentinel_managed_client(tmp_path: Path) -> None:
    require_redis()
    with running_redis() as master:
        port = free_port()
        config = tmp_path / "sentinel.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor tabsession-master 127.0.0.1 {master.port} 1\n"
        )
        binary = shutil.which("redis-server")
        assert binary is not None
        sentinel_process = subprocess.Popen(
            [binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not ping(port):
                assert time.monotonic() < deadline, "redis-sentinel did not start"
                time.sleep(0.05)
            sentinel = redis.sentinel.Sentinel([("127.0.0.1", port)], socket_timeout=1.0)
            client = sentinel.master_for("tabsession-master", socket_timeout=1.0)
            store = RedisStore(client)
            assert "sentinel service tabsession-master" in repr(store)
            assert store.acquire(KEY, "a", 5)
            assert store.publish(KEY, record(1), "a")
            by_url = RedisStore(master.url)
            loaded = by_url.load(KEY)
            assert loaded is not None, "the Sentinel client wrote to the master"
            assert loaded.generation == 1
            by_url.close()
            store.close()
            client.close()
        finally:
            sentinel_process.terminate()
            sentinel_process.wait(10)


def test_async_store_takes_an_existing_asyncio_client() -> None:
    require_redis()
    import redis.asyncio

    with running_redis() as server:

        async def main() -> None:
            client = redis.asyncio.Redis.from_url(server.url)
            store = AsyncRedisStore(client)
            assert await store.acquire(KEY, "a", 5)
            assert await store.publish(KEY, record(1), "a")
            await store.close()
            assert await client.ping(), "left open"
            sync = RedisStore(server.url)
            loaded = sync.load(KEY)
            assert loaded is not None
            assert loaded.generation == 1
            sync.close()
            await client.aclose()

        asyncio.run(main())
