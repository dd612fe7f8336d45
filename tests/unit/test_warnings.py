"""Contention and PAT-expiry events also reach `warnings.warn`, with tabsession's own warning
classes, once per cause per client; other events never warn."""

from __future__ import annotations

import warnings

import pytest

from tabsession._events import Events
from tabsession.errors import ContentionWarning, PatExpiryWarning, TabsessionWarning


def emitted(
    events: Events, *calls: tuple[str, str, dict[str, object]]
) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, message, fields in calls:
            events.emit(name, message, **fields)
    return list(caught)


def test_contention_warns_once_per_cause() -> None:
    events = Events()
    caught = emitted(
        events,
        ("contention", "the session ended 3s after sign-in", {"age": 3.0}),
        ("contention", "the session ended 4s after sign-in", {"age": 4.0}),
        ("contention", "tripped", {"cause": "breaker"}),
        ("contention", "tripped again", {"cause": "breaker"}),
    )
    assert [(w.category, str(w.message)) for w in caught] == [
        (ContentionWarning, "the session ended 3s after sign-in"),
        (ContentionWarning, "tripped"),
    ]
    assert events.snapshot().contention_warnings == 4  # every event is still counted


def test_pat_expiry_warns_with_its_own_class() -> None:
    caught = emitted(Events(), ("pat_expiring", "the PAT expires in 5.0 days", {"seconds": 4e5}))
    assert len(caught) == 1
    assert caught[0].category is PatExpiryWarning
    assert issubclass(PatExpiryWarning, TabsessionWarning)
    assert issubclass(ContentionWarning, UserWarning)


def test_each_client_warns_for_itself() -> None:
    first, second = Events(), Events()
    call = ("contention", "the session ended young", {})
    assert len(emitted(first, call, call)) == 1
    assert len(emitted(second, call)) == 1


@pytest.mark.parametrize("event", ["signin", "refresh", "replay", "retry", "signout"])
def test_ordinary_events_never_warn(event: str) -> None:
    assert emitted(Events(), (event, "something happened", {})) == []


def test_a_warning_filter_turns_it_into_an_error_for_strict_applications() -> None:
    events = Events()
    with warnings.catch_warnings():
        warnings.simplefilter("error", TabsessionWarning)
        with pytest.raises(ContentionWarning, match="ended young"):
            events.emit("contention", "the session ended young")
