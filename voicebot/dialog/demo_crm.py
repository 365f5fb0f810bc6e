"""A small demo CRM (aiohttp app factory) the default flow's webhooks talk to: sample orders (by number, or a
customer's by phone number), free
appointment slots, appointments by phone number (to tell, move or cancel), returns, address and contact changes,
customers by phone number (the returning caller's name), password reset links sent by text message.
`voicebot serve --demo-crm` and the tests start it.

`delay_s` / `fail_status` make it slow or failing on purpose, to show what callers hear when a real
CRM misbehaves.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from aiohttp import web

SAMPLE_ORDERS = {
    "48152": {"status": "shipped", "item": "coffee grinder", "item_pl": "młynek do kawy", "eta": "2026-11-27",
              "placed": "2026-11-23"},
    "12345": {"status": "processing", "item": "desk lamp", "item_pl": "lampka biurkowa", "eta": "2026-12-02",
              "placed": "2026-11-24"},
    "55501": {"status": "delivered", "item": "kettle", "item_pl": "czajnik", "eta": "2026-11-20",
              "placed": "2026-11-16"},
    "90210": {"status": "cancelled", "item": "toaster", "item_pl": "toster", "eta": "", "placed": "2026-11-10"},
}
# A customer's orders, by phone number (digits only). The demo caller of `voicebot simulate` and the flow tests
# (+48600100200) and the SIP tests' callers have none, so they are asked for the number; Mary Jones and Ewa Kowalska are
# offered their latest.
SAMPLE_CUSTOMER_ORDERS = {"48500300400": ["48152", "55501"], "48600300400": ["12345", "90210"]}
DAY_SLOTS = ("09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00")
# The demo caller (voicebot simulate / flow tests) already has a visit booked, so moving and cancelling work.
SAMPLE_APPOINTMENTS = {"+48600100200": ("2026-11-27", "10:00")}
# Customers the CRM knows by phone number (digits only, so "+48 600 100 200" finds the first one): the bot
# greets a returning caller by first name.
SAMPLE_CUSTOMERS = {
    "48600100200": {"name": "Anna Nowak", "first_name": "Anna", "language": "pl"},
    "48500100200": {"name": "John Smith", "first_name": "John", "language": "en"},
    "48500300400": {"name": "Mary Jones", "first_name": "Mary", "language": "en"},
    "48600300400": {"name": "Ewa Kowalska", "first_name": "Ewa", "language": "pl"},
}


@dataclass
class CrmData:
    orders: dict[str, dict] = field(default_factory=lambda: {k: dict(v) for k, v in SAMPLE_ORDERS.items()})
    booked: set[tuple[str, str]] = field(default_factory=set)
    returns: dict[str, str] = field(default_factory=dict)
    address_changes: list[dict] = field(default_factory=list)
    contact_changes: list[dict] = field(default_factory=list)
    reset_links: list[dict] = field(default_factory=list)
    appointments: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(SAMPLE_APPOINTMENTS))
    customers: dict[str, dict] = field(default_factory=lambda: {k: dict(v) for k, v in SAMPLE_CUSTOMERS.items()})
    customer_orders: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in SAMPLE_CUSTOMER_ORDERS.items()})
    ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def reset(self) -> None:
        """Back to the sample data: one scripted conversation's booking or cancellation is not the next one's."""
        vars(self).update(vars(CrmData()))


CRM_DATA = web.AppKey("crm_data", CrmData)
CRM_FAULT = web.AppKey("crm_fault", tuple)


def create_crm_app(delay_s: float = 0.0, fail_status: int | None = None) -> web.Application:
    app = web.Application(middlewares=[_fault])
    app[CRM_DATA] = CrmData()
    app[CRM_FAULT] = (delay_s, fail_status)
    app.add_routes(routes)
    return app


@web.middleware
async def _fault(request: web.Request, handler):  # type: ignore[no-untyped-def]
    delay_s, fail_status = request.app[CRM_FAULT]
    if delay_s:
        await asyncio.sleep(delay_s)
    if fail_status:
        return web.json_response({"error": "simulated failure"}, status=fail_status)
    return await handler(request)


routes = web.RouteTableDef()


def _digits(phone: str) -> str:
    """A phone number's digits: "+48 600…" and "48600…" (a query string's "+" turned to a space) are one number."""
    return "".join(c for c in phone if c.isdigit())


@routes.get("/orders")
async def find_orders(request: web.Request) -> web.Response:
    """?phone=NUMBER: that customer's orders, newest first, and the latest one (404 if none)."""
    data = request.app[CRM_DATA]
    numbers = data.customer_orders.get(_digits(request.query.get("phone", "")), [])
    orders = sorted(({"number": n, **data.orders[n]} for n in numbers if n in data.orders),
                    key=lambda o: o.get("placed", ""), reverse=True)
    if not orders:
        return web.json_response({"error": "no orders for this phone number"}, status=404)
    return web.json_response({"count": len(orders), "latest": orders[0], "orders": orders})


@routes.get("/orders/{number}")
async def get_order(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    order = request.app[CRM_DATA].orders.get(number)
    if order is None:
        return web.json_response({"error": "order not found", "number": number}, status=404)
    return web.json_response({"number": number, **order})


@routes.get("/customers")
async def find_customer(request: web.Request) -> web.Response:
    """?phone=NUMBER: the customer with that phone number (404 if none)."""
    phone = _digits(request.query.get("phone", ""))
    customer = request.app[CRM_DATA].customers.get(phone) if phone else None
    if customer is None:
        return web.json_response({"error": "no customer with this phone number"}, status=404)
    return web.json_response({"phone": phone, **customer})


@routes.get("/appointments")
async def find_appointment(request: web.Request) -> web.Response:
    """?phone=NUMBER: the visit booked for that phone number (404 if none). Digits are compared, so a "+" that the
    query string turned into a space still finds it."""
    phone = _digits(request.query.get("phone", ""))
    for booked_for, (day, time) in request.app[CRM_DATA].appointments.items():
        if phone and _digits(booked_for) == phone:
            return web.json_response({"date": day, "time": time})
    return web.json_response({"error": "no appointment for this phone number"}, status=404)


@routes.get("/appointments/free")
async def free_slots(request: web.Request) -> web.Response:
    day = request.query.get("date", "")
    booked = request.app[CRM_DATA].booked
    return web.json_response({"date": day, "slots": [t for t in DAY_SLOTS if (day, t) not in booked]})


@routes.post("/appointments")
async def book(request: web.Request) -> web.Response:
    body = await _body(request, ("date", "time"))
    data = request.app[CRM_DATA]
    slot = (str(body["date"]), str(body["time"]))
    if slot[1] not in DAY_SLOTS or slot in data.booked:
        return web.json_response({"error": "slot not available", "free": [t for t in DAY_SLOTS
                                                                          if (slot[0], t) not in data.booked]},
                                 status=409)
    data.booked.add(slot)
    if body.get("phone"):
        data.appointments[str(body["phone"])] = slot
    return web.json_response({"confirmation": f"A{next(data.ids)}", "date": slot[0], "time": slot[1]}, status=201)


@routes.post("/appointments/move")
async def move(request: web.Request) -> web.Response:
    body = await _body(request, ("phone", "date", "time"))
    data = request.app[CRM_DATA]
    old = data.appointments.get(str(body["phone"]))
    if old is None:
        return web.json_response({"error": "no appointment for this phone number"}, status=404)
    slot = (str(body["date"]), str(body["time"]))
    if slot[1] not in DAY_SLOTS or (slot in data.booked and slot != old):
        return web.json_response({"error": "slot not available"}, status=409)
    data.booked.discard(old)
    data.booked.add(slot)
    data.appointments[str(body["phone"])] = slot
    return web.json_response({"confirmation": f"A{next(data.ids)}", "date": slot[0], "time": slot[1]})


@routes.post("/appointments/cancel")
async def cancel(request: web.Request) -> web.Response:
    body = await _body(request, ("phone",))
    data = request.app[CRM_DATA]
    old = data.appointments.pop(str(body["phone"]), None)
    if old is None:
        return web.json_response({"error": "no appointment for this phone number"}, status=404)
    data.booked.discard(old)
    return web.json_response({"date": old[0], "time": old[1]})


@routes.post("/returns")
async def create_return(request: web.Request) -> web.Response:
    body = await _body(request, ("order_number",))
    data = request.app[CRM_DATA]
    number = str(body["order_number"])
    if number not in data.orders:
        return web.json_response({"error": "order not found"}, status=404)
    code = data.returns.setdefault(number, f"R{next(data.ids)}")
    order = data.orders[number]
    return web.json_response({"return_code": code, "order_number": number, "item": order["item"],
                              "item_pl": order["item_pl"]}, status=201)


@routes.post("/address-changes")
async def change_address(request: web.Request) -> web.Response:
    return await _change_request(request, "address", request.app[CRM_DATA].address_changes, "C")


@routes.post("/contact-changes")
async def change_contact(request: web.Request) -> web.Response:
    return await _change_request(request, "contact", request.app[CRM_DATA].contact_changes, "K")


@routes.post("/password-resets")
async def send_reset_link(request: web.Request) -> web.Response:
    """Text a password reset link to the phone number on the caller's account (404 if the number has none).
    The link goes to the number on file, never to one the caller dictates, so a stranger cannot redirect it."""
    body = await _body(request, ("phone",))
    data = request.app[CRM_DATA]
    phone = _digits(str(body["phone"]))
    if phone not in data.customers:
        return web.json_response({"error": "no account with this phone number"}, status=404)
    data.reset_links.append({"phone": phone})
    return web.json_response({"sent_to_ending": phone[-3:]}, status=201)


async def _change_request(request: web.Request, field_: str, log: list[dict], prefix: str) -> web.Response:
    """A change someone will carry out later: recorded with a ticket number the caller is told."""
    body = await _body(request, (field_,))
    ticket = f"{prefix}{next(request.app[CRM_DATA].ids)}"
    log.append({"ticket": ticket, **body})
    return web.json_response({"ticket": ticket}, status=201)


async def _body(request: web.Request, required: tuple[str, ...]) -> dict:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="body must be JSON") from exc
    missing = [k for k in required if not body.get(k)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing: {', '.join(missing)}")
    return body
