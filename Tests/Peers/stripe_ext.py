"""TEST-ONLY extension of localstripe (pip localstripe 1.15.10): the parts of Stripe's invoice API it lacks.

Patches over localstripe's own resources, written for Settle's tests; everything else stays localstripe's (customers,
invoice items, plans, charges, lists, webhook registration and signing). Added, with current Stripe semantics:
- Invoices: collection_method, days_until_due, due_date, auto_advance, number, paid_out_of_band, amount_remaining,
  amount_overpaid, payments, status_transitions.marked_uncollectible_at, status `uncollectible`. POST /v1/invoices makes
  a draft from the customer's pending items (send_invoice, or no subscription: localstripe's path otherwise);
  POST /v1/invoices/{id} (metadata merges, an empty value deletes a key); /finalize; /pay (paid_out_of_band=true, else
  localstripe's card payment); /void; /mark_uncollectible; /attach_payment (payment_record); GET /v1/invoices filtered
  by status, collection_method, customer, subscription, newest first.
- Payment Records: POST /v1/payment_records/report_payment, GET /v1/payment_records/{id},
  POST /v1/payment_records/{id}/report_refund (outcome=refunded, processor_details[custom][refund_reference] unique,
  refunded[refunded_at], amount optional: the remaining guaranteed amount).
- Subscriptions: collection_method and days_until_due (send_invoice ones start active with an open first invoice),
  metadata updates, customer.subscription.updated.
- Events invoice.created/updated (with data.previous_attributes)/finalized/paid/payment_succeeded/voided/
  marked_uncollectible, with api_version and request {id, idempotency_key}; delivered by localstripe's sender, but one
  at a time in creation order, ~50 ms after the request instead of 1 s (still no retries). GET /v1/events newest first.
  404s carry code resource_missing.
- Idempotency-Key on POST: a repeat replays the stored status and body (Idempotent-Replayed: true); the key on another
  path or with other parameters -> 400 idempotency_error; 409 while the first request runs.
- Test controls, no API key: GET /_settle/requests (every POST received, in order), POST /_settle/reset_requests,
  POST /_settle/fail {"status": 503, "count": N, "path": "/v1/"} (the next N API requests under `path` are not
  executed and answer `status` with a Stripe-shaped error).
Import it before anything imports localstripe.server, which builds its routes from resources.extra_apis; aiohttp
serves the first route added for a path, so /pay and /void can only be replaced there. `app` is the server.
"""
import asyncio
import contextlib
import contextvars
import inspect
import itertools
import json
import logging
import sys
import time
import types
import urllib.parse

import localstripe.resources as resources
import localstripe.webhooks as webhooks
from localstripe.errors import UserError, json_response
from localstripe.resources import (Customer, Event, Invoice, InvoiceItem, List, PaymentIntent, Plan, Product,
                                   StripeObject, Subscription, SubscriptionItem, random_id, store,
                                   try_convert_to_bool, try_convert_to_int)

assert 'localstripe.server' not in sys.modules, 'import stripe_ext before localstripe.server'

API_VERSION = '2025-03-31.basil'  # the version Settle's StripeClient pins
STATUSES = ('draft', 'open', 'paid', 'uncollectible', 'void')
METHODS = ('charge_automatically', 'send_invoice')
DEFAULT_BILLING = ('charge_automatically', None, None)  # collection_method, days_until_due, due_date


# ---------------------------------------------------------------- parameters and errors

def _err(status, message, code=None, param=None):
    return UserError(status, message, {k: v for k, v in (('code', code), ('param', param)) if v})


def _reject(unknown):
    if unknown:
        name = sorted(unknown)[0]
        raise _err(400, f'Received unknown parameter: {name}', 'parameter_unknown', name)


def _int(value, param, minimum=0):
    number = try_convert_to_int(value)
    if type(number) is not int or number < minimum:
        raise _err(400, f'Invalid integer: {value}', 'parameter_invalid_integer', param)
    return number


def _bool(value, param):
    if type(try_convert_to_bool(value)) is not bool:
        raise _err(400, f'Invalid boolean: {value}', None, param)
    return try_convert_to_bool(value)


def _dict(value, param):
    if not isinstance(value, dict):
        raise _err(400, f'Invalid object: {param}', None, param)
    return value


def _metadata(current, update):
    """Stripe's merge: keys add up, an empty value deletes its key, `metadata=` clears all."""
    if update is None:
        return current
    merged = {} if update == '' else dict(current)
    for key, value in ({} if update == '' else _dict(update, 'metadata')).items():
        if value in ('', None):
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def _billing(current, method, days, due=None, days_required=False):
    """(collection_method, days_until_due, due_date) after an update; due dates only exist for send_invoice."""
    method = current[0] if method is None else method
    if method not in METHODS:
        raise _err(400, 'Invalid collection_method: must be one of ' + ', '.join(METHODS), None, 'collection_method')
    if days not in (None, '') and due not in (None, ''):
        raise _err(400, 'You may only specify one of these parameters: days_until_due, due_date.',
                   'parameters_exclusive', 'due_date')
    days_until_due, due_date = current[1:]
    if days is not None:
        days_until_due, due_date = (None if days == '' else _int(days, 'days_until_due')), None
    if due is not None:
        days_until_due, due_date = None, (None if due == '' else _int(due, 'due_date', 1))
    if method == 'charge_automatically':
        for param, value in (('days_until_due', days), ('due_date', due)):
            if value not in (None, ''):
                raise _err(400, f'{param} can only be set when collection_method is send_invoice.', None, param)
        return method, None, None
    if days_required and days_until_due is None:
        raise _err(400, 'Missing required param: days_until_due.', 'parameter_missing', 'days_until_due')
    return method, days_until_due, due_date


def _diff(before, after):
    """data.previous_attributes: old values of the changed fields, one level deep for hashes."""
    previous = {}
    for key, old in before.items():
        new = after.get(key)
        if key != 'lines' and old != new:
            both = isinstance(old, dict) and isinstance(new, dict)
            previous[key] = {k: old.get(k) for k in {*old, *new} if old.get(k) != new.get(k)} if both else old
    return previous


# ---------------------------------------------------------------- events: one ordered queue; held while creating

_request = contextvars.ContextVar('settle_request', default=None)
_held = None  # a list while an object is built, so its .created event shows the finished object
_queue = None


def _schedule(event):
    """Replaces localstripe's schedule_webhook (which starts one concurrent task per event)."""
    global _queue
    event.api_version = API_VERSION
    event.request = getattr(event, 'request', None) or _request.get()
    if _held is not None:
        return _held.append(event)
    if _queue is None:
        _queue = asyncio.Queue()
        _queue.worker = asyncio.ensure_future(_deliver(_queue))
    _queue.put_nowait(event)


async def _deliver(queue):
    while True:
        event = await queue.get()
        try:
            await asyncio.wait_for(webhooks._send_webhook(event), 30)  # localstripe signs and posts
        except Exception as e:  # a hung receiver must not hold back later events
            logging.getLogger('aiohttp.access').info('webhook "%s" failed: %r', event.type, e)


@contextlib.contextmanager
def _holding():
    global _held
    outer, _held = _held, []
    try:
        yield _held
    finally:
        held, _held = _held, outer
        for event in held:
            _schedule(event)


def _emit(type, obj, previous=None):
    event = Event(type, obj)
    if previous:
        event.data['previous_attributes'] = previous
    _schedule(event)


def _retrieve(cls, id):
    obj = store.get(cls.object + ':' + id) if isinstance(id, str) else None
    if obj is None:
        raise _err(404, f"No such {cls.object}: '{id}'", 'resource_missing', 'id')
    return obj


def _event_list(cls, url, **params):
    listed = _ls_event_list(url, **params)
    listed._list.reverse()  # the store keeps creation order; Stripe lists newest first
    return listed


resources.schedule_webhook = _schedule
webhooks.asyncio = types.SimpleNamespace(sleep=lambda _: asyncio.sleep(0.05), ensure_future=asyncio.ensure_future)
StripeObject._api_retrieve = classmethod(_retrieve)
_ls_event_list, Event._api_list_all = Event._api_list_all, classmethod(_event_list)


# ---------------------------------------------------------------- invoices

def _amount_paid(self):
    paid = sum(p['amount_paid'] for p in self._x_payments)
    return max(paid, self.amount_due) if self.status == 'paid' else paid


def _new_invoice(build, **fields):
    """Builds an invoice with localstripe, then sets the extension's fields before invoice.created goes out."""
    with _holding() as held:
        invoice = build()
        for name, value in fields.items():
            setattr(invoice, name, value)
        invoice.status_transitions.setdefault('marked_uncollectible_at', None)
        for event in held:
            if event.data['object'].get('id') == invoice.id:
                event.data = {'object': invoice._export()}
    return invoice


def _invoice_create(cls, customer=None, subscription=None, collection_method=None, days_until_due=None,
                    due_date=None, auto_advance=None, metadata=None, description=None, default_tax_rates=None,
                    pending_invoice_items_behavior=None, **unknown):
    _reject(unknown)
    if not isinstance(customer, str):
        raise _err(400, 'Missing required param: customer.', 'parameter_missing', 'customer')
    if pending_invoice_items_behavior not in (None, 'include', 'exclude'):
        raise _err(400, 'Invalid pending_invoice_items_behavior: must be one of exclude, include', None,
                   'pending_invoice_items_behavior')
    method, days, due = _billing(DEFAULT_BILLING, collection_method, days_until_due, due_date)
    fields = dict(collection_method=method, days_until_due=days, due_date=due, metadata=_metadata({}, metadata),
                  auto_advance=auto_advance is not None and _bool(auto_advance, 'auto_advance'))
    args = dict(customer=customer, subscription=subscription, description=description,
                default_tax_rates=default_tax_rates)
    if subscription is not None:
        _retrieve(Subscription, subscription)
    # Stripe's POST /v1/invoices never bills a subscription's recurring items: a draft of pending items only.
    # (Stripe's default is `exclude` since 2022-08-01; this peer keeps `include` as its default for older tests.)
    keep = _pending(customer, None if pending_invoice_items_behavior == 'exclude' else subscription,
                    none=pending_invoice_items_behavior == 'exclude')
    with _only_pending(customer, keep):
        return _new_invoice(lambda: cls(**args), **fields)


def _pending(customer, subscription=None, none=False):
    """The customer's pending invoice items (of one subscription when given: Stripe's rule for POST /v1/invoices)."""
    items = [ii for ii in store.values() if isinstance(ii, InvoiceItem) and ii.customer == customer
             and ii.invoice is None]
    return [] if none else [ii for ii in items if subscription is None or ii.subscription == subscription]


@contextlib.contextmanager
def _only_pending(customer, keep):
    """localstripe's Invoice() sweeps in every pending item of the customer: hide the others while it runs."""
    hidden = [ii for ii in _pending(customer) if ii not in keep]
    for ii in hidden:
        ii.invoice = 'in_hidden'
    try:
        yield
    finally:
        for ii in hidden:
            ii.invoice = None


def _invoice_update(cls, id, metadata=None, description=None, auto_advance=None, collection_method=None,
                    days_until_due=None, due_date=None, **unknown):
    _reject(unknown)
    invoice = cls._api_retrieve(id)
    if ((invoice.status != 'draft' and (collection_method, days_until_due) != (None, None))
            or (invoice.status not in ('draft', 'open') and due_date is not None)):
        raise _err(400, f'This invoice is {invoice.status}; that field can no longer change.', 'invoice_not_editable')
    billing = _billing((invoice.collection_method, invoice.days_until_due, invoice.due_date), collection_method,
                       days_until_due, due_date)
    auto = invoice.auto_advance if auto_advance is None else _bool(auto_advance, 'auto_advance')
    meta, before = _metadata(invoice.metadata, metadata), invoice._export()
    invoice.collection_method, invoice.days_until_due, invoice.due_date = billing
    invoice.auto_advance, invoice.metadata = auto, meta
    if description is not None:
        invoice.description = description or None
    previous = _diff(before, invoice._export())
    if previous:
        _emit('invoice.updated', invoice, previous)
    return invoice


def _invoice_list(cls, url, customer=None, subscription=None, status=None, collection_method=None, limit=None,
                  starting_after=None, **unknown):
    _reject(unknown)
    for param, value, allowed in (('status', status, STATUSES), ('collection_method', collection_method, METHODS)):
        if value not in (None, *allowed):
            raise _err(400, f'Invalid {param}: must be one of ' + ', '.join(allowed), None, param)
    wanted = {k: v for k, v in dict(customer=customer, subscription=subscription, status=status,
                                    collection_method=collection_method).items() if v is not None}
    listed = List(url, limit=limit, starting_after=starting_after)
    newest_first = [v for k, v in reversed(store.items()) if k.startswith('invoice:')]
    listed._list = sorted((i for i in newest_first if all(getattr(i, k) == v for k, v in wanted.items())),
                          key=lambda i: i.created, reverse=True)  # stable: same-second ties stay newest first
    return listed


def _finalize(self):
    """Replaces Invoice._finalize (localstripe's subscriptions use it too): Stripe's checks, fields and events."""
    if self.collection_method == 'send_invoice' and self.due_date is None and self.days_until_due is None:
        raise _err(400, 'Invoices with collection_method=send_invoice need days_until_due or due_date.',
                   'parameter_missing', 'days_until_due')
    before = self._export()
    _ls_finalize(self)  # leaves draft, stamps finalized_at
    self.status_transitions = {'marked_uncollectible_at': None, **self.status_transitions}
    if self.collection_method == 'send_invoice' and self.due_date is None:
        self.due_date = self.status_transitions['finalized_at'] + self.days_until_due * 86400
    self.number = f'SETTLE-{next(_numbers):04d}'
    _emit('invoice.finalized', self)
    if self.status == 'paid':  # nothing due: Stripe marks it paid at once
        self._on_payment_success()
    _emit('invoice.updated', self, _diff(before, self._export()))


def _on_payment_success(self):
    self.status_transitions = dict(self.status_transitions, paid_at=int(time.time()))
    _emit('invoice.paid', self)
    _ls_payment_success(self)  # localstripe: invoice.payment_succeeded, activates an incomplete subscription


def _move(invoice, status, event=None, stamp=None, **fields):
    """Sets a status the extension owns, then emits the event(s) with previous_attributes."""
    before = invoice._export()
    invoice._x_status = status
    for name, value in fields.items():
        setattr(invoice, name, value)
    if stamp:
        invoice.status_transitions = dict(invoice.status_transitions, **{stamp: int(time.time())})
    if event:
        _emit(event, invoice)
    if status == 'paid':
        invoice._on_payment_success()
    _emit('invoice.updated', invoice, _diff(before, invoice._export()))
    return invoice


def _load(id, action, allowed):
    invoice = Invoice._api_retrieve(id)
    if invoice.status == 'paid' and action in ('pay', 'attach a payment to'):
        raise _err(400, 'Invoice is already paid', 'invoice_already_paid')
    if invoice.status not in allowed:
        raise _err(400, f'You cannot {action} an invoice whose status is {invoice.status}.',
                   'status_transition_invalid')
    return invoice


def _api_finalize(id, auto_advance=None, **unknown):
    _reject(unknown)
    invoice = Invoice._api_retrieve(id)
    if invoice.status != 'draft':
        raise _err(400, "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                   'invoice_not_editable')
    previous, invoice.auto_advance = invoice.auto_advance, (invoice.auto_advance if auto_advance is None
                                                            else _bool(auto_advance, 'auto_advance'))
    try:
        invoice._finalize()
    except UserError:
        invoice.auto_advance = previous
        raise
    return invoice


def _api_pay(id, paid_out_of_band=None, **unknown):
    _reject(unknown)
    out_of_band = paid_out_of_band is not None and _bool(paid_out_of_band, 'paid_out_of_band')
    invoice = _load(id, 'pay', ('draft', 'open', 'uncollectible'))
    if invoice.status == 'draft':
        invoice._finalize()
    if invoice.status == 'paid':  # finalized with nothing due
        return invoice
    if not out_of_band:
        return _ls_pay(id)  # localstripe: charges the customer's default card
    return _move(invoice, 'paid', paid_out_of_band=True)


def _api_void(id, **unknown):
    _reject(unknown)
    invoice = _load(id, 'void', ('open', 'uncollectible'))
    if invoice.payment_intent:
        with contextlib.suppress(UserError):
            PaymentIntent._api_cancel(invoice.payment_intent)
    _move(invoice, 'void', 'invoice.voided', 'voided_at', _voided=True)
    sub = invoice.subscription and Subscription._api_retrieve(invoice.subscription)
    if sub and sub.status == 'incomplete':
        sub._on_initial_payment_voided(invoice)
    return invoice


def _api_mark_uncollectible(id, **unknown):
    _reject(unknown)
    invoice = _load(id, 'mark as uncollectible', ('open',))
    return _move(invoice, 'uncollectible', 'invoice.marked_uncollectible', 'marked_uncollectible_at')


def _api_attach_payment(id, payment_record=None, **unknown):
    _reject(unknown)  # payment_intent is not supported here
    if not isinstance(payment_record, str):
        raise _err(400, 'Missing required param: payment_record.', 'parameter_missing', 'payment_record')
    invoice, record = _load(id, 'attach a payment to', ('open', 'uncollectible')), \
        PaymentRecord._api_retrieve(payment_record)
    amount = record.amount_guaranteed
    if record._invoice is not None:
        raise _err(400, f'{record.id} is already attached to {record._invoice}.', None, 'payment_record')
    if amount['value'] <= 0 or amount['currency'] != invoice.currency:
        raise _err(400, f'{record.id} has no guaranteed amount in {invoice.currency}.', None, 'payment_record')
    record._invoice, now = invoice.id, int(time.time())
    payment = {'id': 'inpay_' + random_id(14), 'object': 'invoice_payment', 'amount_paid': amount['value'],
               'amount_requested': amount['value'], 'created': now, 'currency': invoice.currency,
               'invoice': invoice.id, 'is_default': False, 'livemode': False, 'status': 'paid',
               'payment': {'type': 'payment_record', 'payment_record': record.id},
               'status_transitions': {'canceled_at': None, 'paid_at': now}}
    paid = invoice.amount_paid + amount['value'] >= invoice.amount_due
    return _move(invoice, 'paid' if paid else invoice._x_status, _x_payments=(*invoice._x_payments, payment))


_numbers = itertools.count(1)
_ls_status, _ls_invoice_create, _ls_pay = Invoice.status.fget, Invoice._api_create, Invoice._api_pay_invoice
_ls_finalize, _ls_payment_success = Invoice._finalize, Invoice._on_payment_success
for _name, _value in dict(
        _x_status=None, _x_payments=(), auto_advance=True, days_until_due=None, due_date=None, number=None,
        paid_out_of_band=False, status=property(lambda self: self._x_status or _ls_status(self)),
        amount_paid=property(_amount_paid),
        amount_remaining=property(lambda self: max(0, self.amount_due - self.amount_paid)),
        amount_overpaid=property(lambda self: max(0, self.amount_paid - self.amount_due)),
        payments=property(lambda self: {'object': 'list', 'data': [dict(p) for p in self._x_payments],
                                        'has_more': False, 'url': f'/v1/invoice_payments?invoice={self.id}'}),
        _api_create=classmethod(_invoice_create), _api_update=classmethod(_invoice_update),
        _api_list_all=classmethod(_invoice_list), _finalize=_finalize, _on_payment_success=_on_payment_success,
).items():
    setattr(Invoice, _name, _value)


# ---------------------------------------------------------------- payment records

class PaymentRecord(StripeObject):
    """A payment made off Stripe and reported by the merchant (Stripe's successor to paid_out_of_band)."""
    object = 'payment_record'
    _id_prefix = 'pr_'
    _invoice = None

    def __init__(self, amount_requested=None, initiated_at=None, payment_method_details=None, outcome=None,
                 guaranteed=None, failed=None, processor_details=None, customer_details=None, metadata=None,
                 customer_presence=None, description=None, shipping_details=None, **unknown):
        _reject(unknown)
        for param, value in (('amount_requested', amount_requested), ('initiated_at', initiated_at),
                             ('payment_method_details', payment_method_details)):
            if value is None:
                raise _err(400, f'Missing required param: {param}.', 'parameter_missing', param)
        value = _int(_dict(amount_requested, 'amount_requested').get('value'), 'amount_requested[value]')
        currency = str(amount_requested.get('currency', '')).lower()
        if len(currency) != 3:
            raise _err(400, 'Invalid currency', None, 'amount_requested[currency]')
        _int(initiated_at, 'initiated_at', 1)
        method = _dict(payment_method_details, 'payment_method_details')
        custom = _dict(method.get('custom', {}), 'payment_method_details[custom]')
        processor = _dict(processor_details or {'type': 'custom'}, 'processor_details')
        if processor.get('type') != 'custom':
            raise _err(400, 'processor_details[type] must be custom.', None, 'processor_details[type]')
        if outcome not in (None, 'guaranteed', 'failed'):
            raise _err(400, 'Invalid outcome: must be one of guaranteed, failed', None, 'outcome')
        if outcome:
            stamps = _dict({'guaranteed': guaranteed, 'failed': failed}[outcome], outcome)
            _int(stamps.get(outcome + '_at'), f'{outcome}[{outcome}_at]', 1)
        customer = _dict(customer_details or {}, 'customer_details')
        if customer.get('customer') is not None:
            Customer._api_retrieve(customer['customer'])
        meta = _metadata({}, metadata)

        super().__init__()  # every error is raised before this point

        def money(amount):
            return {'currency': currency, 'value': amount}
        self.amount = self.amount_requested = money(value)
        self.amount_authorized = self.amount_guaranteed = money(value if outcome == 'guaranteed' else 0)
        self.amount_failed = money(value if outcome == 'failed' else 0)
        self.amount_canceled = self.amount_refunded = money(0)
        self.application, self.metadata, self.description = None, meta, description
        self.customer_details = {'customer': None, 'email': None, 'name': None, 'phone': None, **customer}
        self.customer_presence, self.shipping_details = customer_presence, shipping_details
        self.latest_payment_attempt_record = 'par_' + random_id(14)
        self.payment_method_details = {
            'billing_details': None, 'payment_method': method.get('payment_method'), 'type': 'custom',
            'custom': {'display_name': custom.get('display_name'), 'type': custom.get('type')}}
        self.processor_details = {'type': 'custom', 'custom': {
            'payment_reference': _dict(processor.get('custom', {}), 'processor_details[custom]').get(
                'payment_reference')}}


def _api_report_refund(id, outcome=None, processor_details=None, refunded=None, amount=None, initiated_at=None, metadata=None,
                       **unknown):
    """Report that the record's payment was refunded (Stripe's POST /v1/payment_records/{id}/report_refund)."""
    _reject(unknown)
    record = PaymentRecord._api_retrieve(id)
    if outcome != 'refunded':
        raise _err(400, 'Invalid outcome: must be refunded', None, 'outcome')
    processor = _dict(processor_details, 'processor_details')
    if processor.get('type') != 'custom':
        raise _err(400, 'processor_details[type] must be custom.', None, 'processor_details[type]')
    reference = _dict(processor.get('custom', {}), 'processor_details[custom]').get('refund_reference')
    if not isinstance(reference, str) or not reference:
        raise _err(400, 'Missing required param: processor_details[custom][refund_reference].', 'parameter_missing',
                   'processor_details[custom][refund_reference]')
    if reference in PaymentRecord._refund_references:
        raise _err(400, f'refund_reference {reference} was already reported.', None, 'processor_details[custom][refund_reference]')
    _int(_dict(refunded, 'refunded').get('refunded_at'), 'refunded[refunded_at]', 1)
    remaining = record.amount_guaranteed['value'] - record.amount_refunded['value']
    value = remaining if amount is None else _int(_dict(amount, 'amount').get('value'), 'amount[value]', 1)
    if value > remaining:
        raise _err(400, 'Can refund only up to the remaining, unrefunded amount of the payment.', None, 'amount[value]')
    PaymentRecord._refund_references.add(reference)
    record.amount_refunded = {'currency': record.amount_refunded['currency'], 'value': record.amount_refunded['value'] + value}
    return record


PaymentRecord._refund_references = set()


# ---------------------------------------------------------------- subscriptions

def _items_with_plans(items):
    """items[n][price] -> items[n][plan] (every price here is a plan with the same id)."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise _err(400, 'Invalid array', None, 'items')
    for n, item in enumerate(items):
        price = _dict(item, f'items[{n}]').pop('price', None)
        if price is not None:
            if item.get('plan') not in (None, price):
                raise _err(400, 'You may only specify one of these parameters: plan, price.', 'parameters_exclusive',
                           f'items[{n}][price]')
            Price._api_retrieve(price)
            item['plan'] = price
    return items


def _sub_init(self, collection_method=None, days_until_due=None, items=None, **data):
    # Set before localstripe's constructor, which bills the first invoice and emits the .created event.
    self.collection_method, self.days_until_due, _ = _billing(DEFAULT_BILLING, collection_method, days_until_due,
                                                              days_required=True)
    _ls_sub_init(self, items=_items_with_plans(items), **data)


PRORATIONS = ('create_prorations', 'always_invoice', 'none')


def _change_price(self, items, behavior, at):
    """Stripe's price change on one item: the item keeps its id; prorations are pending invoice items
    ("Unused time on A after ..." and "Remaining time on B after ..."), or, when the billing cycle resets (free <->
    paid, another interval), the cycle restarts now and the subscription is invoiced at once with the credit.
    Returns True when the plan changed."""
    if len(items) != 1:
        raise _err(400, 'This test peer changes one subscription item at a time.', None, 'items')
    item = items[0]
    current = self.items._list[0]
    if item.get('id') not in (None, current.id):
        raise _err(400, f"No such subscription_item: '{item['id']}'", 'resource_missing', 'items[0][id]')
    new = Plan._api_retrieve(item.get('plan') or current.plan.id)
    quantity = _int(item.get('quantity', current.quantity), 'items[0][quantity]', 1)
    old, old_quantity = current.plan, current.quantity
    if (new.id, quantity) == (old.id, old_quantity):
        return False
    if new.currency != old.currency:
        raise _err(400, 'The price specified has a different currency from the subscription.', None,
                   'items[0][price]')
    period = current._current_period()
    reset = ((old.interval, old.interval_count) != (new.interval, new.interval_count)
             or (old.amount == 0) != (new.amount == 0))
    current.plan, current.quantity, self.quantity = new, quantity, quantity  # same si_ id, as on Stripe

    def prorate(plan, qty, sign, words):
        share = (period['end'] - at) / max(1, period['end'] - period['start'])
        amount = sign * round(plan.amount * qty * share)
        if behavior != 'none' and amount:
            InvoiceItem(customer=self.customer, subscription=self.id, plan=plan.id, amount=amount,
                        currency=plan.currency, proration=True, period_start=at, period_end=period['end'],
                        description=f'{words} on {plan.name} after {time.strftime("%d %b %Y", time.gmtime(at))}')
    prorate(old, old_quantity, -1, 'Unused time')
    if reset:  # the new price is billed from now for a whole period
        self.start_date = at
        self._bill_now('subscription_update')
    else:
        prorate(new, quantity, +1, 'Remaining time')
        if behavior == 'always_invoice':
            self._bill_now('subscription_update', recurring=False)
    return True


def _bill_now(self, reason, recurring=True):
    """An invoice for this subscription now: its pending items (+ a period of its items when `recurring`).
    Stripe charges it at once with charge_automatically, and leaves it a draft (finalized about an hour later)
    with send_invoice."""
    sent = self.collection_method == 'send_invoice'
    with _only_pending(self.customer, _pending(self.customer, self.id)):
        invoice = _new_invoice(lambda: Invoice(
            customer=self.customer, subscription=self.id, items=list(self.items._list) if recurring else [],
            tax_percent=self.tax_percent, default_tax_rates=[tr.id for tr in self.default_tax_rates or []],
            date=int(time.time())),
            collection_method=self.collection_method, days_until_due=self.days_until_due if sent else None,
            billing_reason=reason, auto_advance=True)
    if not sent:  # as localstripe bills its subscriptions: finalize, then charge the default card
        invoice._finalize()
        if invoice.status != 'paid':
            Invoice._api_pay_invoice(invoice.id)
    return invoice


def _sub_create_invoice(self):
    if self.collection_method != 'send_invoice':
        return _ls_sub_create_invoice(self)
    # As localstripe bills its subscriptions, but the invoice is sent, not charged, so it stays open.
    items = [ii for ii in InvoiceItem._api_list_all(None, customer=self.customer, limit=99)._list
             if ii.invoice is None] + self.items._list
    invoice = _new_invoice(lambda: Invoice(
        customer=self.customer, subscription=self.id, items=items, tax_percent=self.tax_percent,
        default_tax_rates=[tr.id for tr in self.default_tax_rates or []], date=self.current_period_start),
        collection_method='send_invoice', days_until_due=self.days_until_due, billing_reason='subscription_create')
    invoice._finalize()  # Stripe waits an hour before finalizing a send_invoice subscription's first invoice
    self.status = 'active'  # send_invoice subscriptions are active while their invoice is open


def _sub_update(self, collection_method=None, days_until_due=None, metadata=None, items=None,
                proration_behavior=None, proration_date=None, payment_behavior=None, **data):
    _reject(set(data) - _ls_sub_update_params - {'plan', 'quantity', 'prorate'})
    if proration_behavior not in (None, *PRORATIONS):
        raise _err(400, 'Invalid proration_behavior: must be one of ' + ', '.join(PRORATIONS), None,
                   'proration_behavior')
    if payment_behavior not in (None, 'allow_incomplete', 'default_incomplete', 'error_if_incomplete',
                                'pending_if_incomplete'):
        raise _err(400, 'Invalid payment_behavior', None, 'payment_behavior')
    at = int(time.time()) if proration_date is None else _int(proration_date, 'proration_date', 1)
    items = _items_with_plans(items)
    billing = _billing((self.collection_method, self.days_until_due, None), collection_method, days_until_due,
                       days_required=True)
    meta, before = _metadata(self.metadata, metadata), self._export()
    _ls_sub_update(self, **data)  # localstripe ignores metadata: it is applied here; items are changed below
    self.collection_method, self.days_until_due, _ = billing  # before any invoice the price change makes
    self.metadata = meta
    if items is not None:
        _change_price(self, items, proration_behavior or 'create_prorations', at)
    previous = _diff(before, self._export())
    if previous:
        _emit('customer.subscription.updated', self, previous)


_ls_sub_init, _ls_sub_create_invoice, _ls_sub_update = \
    Subscription.__init__, Subscription._create_invoice, Subscription._update
_ls_sub_update_params = set(inspect.signature(_ls_sub_update).parameters) - {'self'}
Subscription.collection_method, Subscription.days_until_due = 'charge_automatically', None
Subscription.__init__, Subscription._create_invoice, Subscription._update = \
    _sub_init, _sub_create_invoice, _sub_update
Subscription._bill_now = _bill_now


# ---------------------------------------------------------------- prices (a view of localstripe's plans)

class Price(StripeObject):
    """Stripe serves every plan as a price with the same id; here every price is a plan (id price_...)."""
    object = 'price'
    _id_prefix = 'price_'

    def __init__(self, plan):  # not stored: the plan is
        self._plan = plan
        self.id, self.created, self.livemode = plan.id, plan.created, False
        self.type, self.billing_scheme, self.lookup_key, self.tax_behavior = 'recurring', plan.billing_scheme, None, \
            'unspecified'
        self.recurring = {'interval': plan.interval, 'interval_count': plan.interval_count, 'meter': None,
                          'usage_type': plan.usage_type, 'trial_period_days': plan.trial_period_days}

    active = property(lambda self: self._plan.active)
    currency = property(lambda self: self._plan.currency)
    metadata = property(lambda self: self._plan.metadata)
    nickname = property(lambda self: self._plan.nickname)
    product = property(lambda self: self._plan.product)
    unit_amount = property(lambda self: self._plan.amount)
    unit_amount_decimal = property(lambda self: str(self._plan.amount))

    @classmethod
    def _api_create(cls, currency=None, unit_amount=None, recurring=None, product=None, product_data=None,
                    nickname=None, metadata=None, active=None, **unknown):
        _reject(unknown)
        if not isinstance(currency, str) or len(currency) != 3:
            raise _err(400, 'Missing required param: currency.', 'parameter_missing', 'currency')
        amount = _int(unit_amount, 'unit_amount')
        if recurring is None:
            raise _err(400, 'This test peer only makes recurring prices.', 'parameter_missing', 'recurring')
        recurring = _dict(recurring, 'recurring')
        if recurring.get('interval') not in ('day', 'week', 'month', 'year'):
            raise _err(400, 'Invalid recurring[interval]', None, 'recurring[interval]')
        count = _int(recurring.get('interval_count', 1), 'recurring[interval_count]', 1)
        if (product is None) == (product_data is None):
            raise _err(400, 'You must specify either product or product_data.', 'parameter_missing', 'product')
        if product is not None:
            _retrieve(Product, product)
        elif not isinstance(_dict(product_data, 'product_data').get('name'), str):
            raise _err(400, 'Missing required param: product_data[name].', 'parameter_missing', 'product_data[name]')
        plan = Plan(id='price_' + random_id(24), amount=amount, currency=currency.lower(),
                    interval=recurring['interval'], interval_count=count, nickname=nickname,
                    product=product if product is not None else dict(product_data),
                    metadata=_metadata({}, metadata),
                    active=True if active is None else _bool(active, 'active'))
        price = cls(plan)
        _emit('price.created', price)
        return price

    @classmethod
    def _api_retrieve(cls, id):
        plan = store.get('plan:' + id) if isinstance(id, str) else None
        if plan is None:
            raise _err(404, f"No such price: '{id}'", 'resource_missing', 'id')
        return cls(plan)

    @classmethod
    def _api_update(cls, id, metadata=None, active=None, nickname=None, **unknown):
        _reject(unknown)
        price = cls._api_retrieve(id)
        plan = price._plan
        plan.metadata = _metadata(plan.metadata, metadata)
        if active is not None:
            plan.active = _bool(active, 'active')
        if nickname is not None:
            plan.nickname = nickname or None
        _emit('price.updated', price)
        return price

    @classmethod
    def _api_list_all(cls, url=None, active=None, product=None, limit=None, starting_after=None, **unknown):
        _reject(unknown)
        listed = List('/v1/prices', limit=limit, starting_after=starting_after)
        listed._list = [cls(p) for k, p in reversed(store.items()) if k.startswith('plan:')
                        and (product is None or p.product == product)
                        and (active is None or p.active == _bool(active, 'active'))]
        return listed


SubscriptionItem.price = property(lambda self: Price(self.plan))  # Stripe shows both `plan` and `price`


# ---------------------------------------------------------------- routes, before localstripe.server builds its table

_ROUTES = {
    ('POST', '/v1/invoices/{id}/finalize'): _api_finalize,
    ('POST', '/v1/invoices/{id}/pay'): _api_pay,
    ('POST', '/v1/invoices/{id}/void'): _api_void,
    ('POST', '/v1/invoices/{id}/mark_uncollectible'): _api_mark_uncollectible,
    ('POST', '/v1/invoices/{id}/attach_payment'): _api_attach_payment,
    ('POST', '/v1/payment_records/report_payment'): PaymentRecord._api_create,
    ('GET', '/v1/payment_records/{id}'): PaymentRecord._api_retrieve,
    ('POST', '/v1/prices'): Price._api_create,
    ('GET', '/v1/prices'): lambda **data: Price._api_list_all(**data),
    ('GET', '/v1/prices/{id}'): lambda id, **_: Price._api_retrieve(id),
    ('POST', '/v1/prices/{id}'): Price._api_update,
    ('POST', '/v1/payment_records/{id}/report_refund'): _api_report_refund,
}
resources.extra_apis[:] = [r for r in resources.extra_apis if r[:2] not in _ROUTES] + \
    [(method, url, func) for (method, url), func in _ROUTES.items()]

import localstripe.server as server  # noqa: E402  (builds the route table from extra_apis)
from aiohttp import web  # noqa: E402

app = server.app


# ---------------------------------------------------------------- idempotency, request log, failure injection

_requests = []  # every POST received, in order
_replays = {}   # Idempotency-Key -> (path, params, status, body, content type); None while the first request runs
_failures = {'status': 503, 'count': 0, 'path': '/v1/'}


def _error(status, type, message, code=None):
    return json_response({'error': {'type': type, 'message': message, **({'code': code} if code else {})}},
                         status=status)


async def _answer(request, handler, key, entry):
    if request.path.startswith('/v1/') and request.path.startswith(_failures['path']) and _failures['count'] > 0:
        _failures['count'] -= 1  # not executed, so nothing is stored under its idempotency key
        if _failures['status'] == 429:
            return _error(429, 'invalid_request_error', 'Too many requests (injected by the test peer).', 'rate_limit')
        return _error(_failures['status'], 'api_error', 'Stripe is unavailable (injected by the test peer).')
    if key is None or not request.path.startswith('/v1/'):
        return await handler(request)
    body = await request.read()
    try:
        params = (json.loads(body), sorted(request.query.items()))
    except ValueError:
        params = (sorted(urllib.parse.parse_qsl(body.decode(errors='replace'), keep_blank_values=True)),
                  sorted(request.query.items()))
    if key in _replays:
        seen = _replays[key]
        if seen is None:
            return _error(409, 'idempotency_error', f"There is currently another in-progress request using this "
                          f"Idempotency-Key ('{key}'). Try again later.", 'idempotency_key_in_use')
        if seen[0] != request.path:
            return _error(400, 'idempotency_error', 'Keys for idempotent requests can only be used for the same '
                          f"endpoint they were first used for ('{seen[0]}' vs '{request.path}').")
        if seen[1] != params:
            return _error(400, 'idempotency_error', 'Keys for idempotent requests can only be used with the same '
                          f"parameters they were first used with. Try using a key other than '{key}' if you meant "
                          'to execute a different request.')
        entry['replayed'] = True
        return web.Response(status=seen[2], body=seen[3], headers={'Content-Type': seen[4],
                                                                   'Idempotent-Replayed': 'true'})
    _replays[key] = None
    try:
        response = await handler(request)
    except BaseException:
        del _replays[key]
        raise
    _replays[key] = (request.path, params, response.status, response.body, response.headers['Content-Type'])
    return response


@web.middleware
async def _middleware(request, handler):
    if request.path.startswith('/_settle/'):
        try:
            return await request.match_info.handler(request)  # test controls: no API key
        except UserError as e:
            return e.to_response()
    key = request.headers.get('Idempotency-Key') if request.method == 'POST' else None
    entry = {'method': request.method, 'path': request.path, 'idempotency_key': key, 'replayed': False,
             'status': None}
    if request.method == 'POST':
        _requests.append(entry)
    request_id = 'req_' + random_id(14)
    token = _request.set({'id': request_id, 'idempotency_key': key})
    try:
        response = await _answer(request, handler, key, entry)
    except web.HTTPException as e:
        entry['status'] = e.status
        raise
    finally:
        _request.reset(token)
    entry['status'] = response.status
    response.headers['Request-Id'] = request_id
    if key is not None:
        response.headers['Idempotency-Key'] = key
    return response


async def _list_requests(request):
    return json_response({'data': _requests})


async def _reset_requests(request):
    _requests.clear()
    return json_response({'data': _requests})


async def _fail(request):
    data = await server.get_post_data(request, remove_auth=False) or {}
    _failures.update(status=_int(data.get('status', 503), 'status', 400), count=_int(data.get('count', 1), 'count'),
                     path=str(data.get('path', '/v1/')))
    return json_response(dict(_failures))


app.middlewares.insert(0, _middleware)  # outermost: sees every answer, localstripe's errors included
app.router.add_get('/_settle/requests', _list_requests)
app.router.add_post('/_settle/reset_requests', _reset_requests)
app.router.add_post('/_settle/fail', _fail)
