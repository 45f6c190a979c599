"""The dashboard feed on its own: which groups a changed mark, a nudge or a benches' order change
pushes, and a database that fails for a moment not ending the pushes."""

from __future__ import annotations

import asyncio
from typing import Any

from server.services.dashboard_feed import ORDER_GROUPS, DashboardFeed
from server.services.live_events import LiveEvents, LiveMessage
from shared.contract.dashboard import DASHBOARD_CHANGED, FIGURE_GROUPS


def test_marks_nudges_and_order_changes_push_the_right_groups() -> None:
    marks: dict[str, Any] = {
        "orders": 1,
        "exceptions": (1, 0),
        "spend": None,
        "events": 5,
        "health": None,
        "stock": 1,
    }
    state = {"fail": False, "reads": 0}

    def read() -> dict[str, Any]:
        state["reads"] += 1
        if state["fail"]:
            raise RuntimeError("the database is away for a moment")
        return dict(marks)

    benches_live = LiveEvents()
    feed = DashboardFeed(uow=None, poll_s=0.02, debounce_s=0.02, tick_s=3600, marks=read)  # type: ignore[arg-type]
    feed.listen_to(benches_live)

    async def scenario() -> list[list[str]]:
        sub = feed.live.subscribe()
        feed.ensure_running()
        pushes: list[list[str]] = []

        async def next_push() -> list[str]:
            message = await asyncio.wait_for(sub.queue.get(), timeout=30)
            assert isinstance(message, LiveMessage) and message.event == DASHBOARD_CHANGED
            pushes.append(message.data["groups"])
            return pushes[-1]

        await next_push()  # the first dashboard: everything
        marks["events"] = 6
        await next_push()
        marks.update({"orders": 2, "exceptions": (2, 1)})  # one step, as one commit
        await next_push()
        feed.nudge(["spend"])
        await next_push()
        benches_live.publish_order_changed(order_id=7, state="cancelled", change="cancelled")
        await next_push()
        state["fail"] = True
        reads = state["reads"]
        while state["reads"] < reads + 3:  # three failed reads in a row
            await asyncio.sleep(0.01)
        state["fail"] = False
        marks["stock"] = 2
        await next_push()
        feed.stop()
        return pushes

    pushes = asyncio.run(scenario())
    assert pushes == [
        list(FIGURE_GROUPS),
        ["benches"],
        ["backlog", "at_risk", "unallocated", "exceptions", "custody"],
        ["spend"],
        list(ORDER_GROUPS),
        ["unallocated"],
    ]
    assert feed.pushes == len(pushes)
