"""Managed Redis: an existing client works like a URL, ACL users, and the Cluster key layout on a
real 3-node `redis-server --cluster-enabled yes` (skipped loudly where one cannot start)."""

from __future__ import annotations

import pytest

pytest.importorskip("redis")

import redis
import redis.cluster

import tabsession
from tabsession.stores import RedisStore, StoredSession, session_key
from tests.stores._support import emulator, pat, require_redis, running_cluster, running_redis

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
