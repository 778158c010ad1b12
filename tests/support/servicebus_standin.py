#!/usr/bin/python3
"""A small Azure Service Bus stand-in for ToggleMaster's tests (Debian's python3-qpid-proton).

Service Bus cannot run on a test machine, and RabbitMQ's AMQP 1.0 plugin skips everything that
makes a Service Bus client hard: TLS, the CBS token handshake and its renewal, peek-lock with
delivery counts, dead-lettering. This broker checks those the way Service Bus does, on one TLS
listener on 127.0.0.1, with queues in memory:

  connection  TLS only; SASL required, ANONYMOUS only; the AMQP open's hostname must be the
              namespace (--host), as Service Bus finds the namespace by it.
  $cbs        a link to node $cbs carries put-token requests: application properties
              operation=put-token, type=servicebus.windows.net:sastoken, name=<audience>, a string
              body "SharedAccessSignature sr=..&sig=..&se=..&skn=..", a message-id and a reply-to.
              The token must name the key (--key-name), be unexpired, cover the audience (its
              resource a prefix of it, on a path boundary, on this namespace), and its sig must be
              base64(HMAC-SHA256(key, sr as sent + "\\n" + se)). The reply (correlation-id =
              message-id, status-code 200 or 401, status-description) goes to the link whose
              target is the reply-to address.
  entities    attaching a link to a queue needs an unexpired token covering it on the same
              connection, else the link is attached and at once detached with
              amqp:unauthorized-access (an unknown queue: amqp:not-found). When the token a link
              relies on expires without a renewal, the link is detached the same way.
  peek-lock   messages go out unsettled, with header.delivery-count = earlier deliveries; accepted
              completes; released, modified (an abandon) and a lost link or connection put the
              message back with delivery-count + 1 (Service Bus counts every lock it hands out, not
              only modified/delivery-failed as plain AMQP would); rejected moves it to
              <queue>/$DeadLetterQueue with DeadLetterReason (from the error info of a
              com.microsoft:dead-letter condition, as the Azure SDKs send it); a message whose
              delivery count reaches --max-delivery-count moves there with MaxDeliveryCountExceeded.
  limits      a message over 256 KiB is rejected with amqp:link:message-size-exceeded.

Not Service Bus: no lock expiry or lock renewal (a lock lasts as long as its link), no sessions,
no management operations ($management), no scheduled messages, no duplicate detection.

One JSON object per line on stdout for each thing that happens (listening, put-token, link-refused,
stored, delivered, completed, abandoned, dead-lettered, token-expired), for tests to read.

  servicebus_standin.py --port P --cert server.pem --key server-key.pem --host localhost \\
      --key-name RootManageSharedAccessKey --key-file sas.key --queue evaluation-events [--queue ...]
      [--max-delivery-count 10] [--lifetime 3600]
"""
import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse

from proton import Condition, Delivery, Endpoint, Handler, Message, SSLDomain, int32, symbol, timestamp
from proton.reactor import Container

MAX_MESSAGE_BYTES = 256 * 1024
DEAD_LETTER_SUFFIX = '/$DeadLetterQueue'


def emit(event, **fields):
    print(json.dumps(dict(event=event, **fields)), flush=True)


def strip_scheme(uri):
    """'sb://Host/q/' -> 'host/q': audiences and token resources compare without scheme, case or a final slash."""
    uri = uri.strip().lower()
    for scheme in ('sb://', 'amqps://', 'amqp://', 'https://', 'http://'):
        if uri.startswith(scheme):
            uri = uri[len(scheme):]
            break
    return uri.rstrip('/')


def covers(resource, path):
    """A token for `resource` (host/path) covers `path` when it is `path` or a parent of it."""
    return path == resource or path.startswith(resource + '/')


class Entry:
    """A message in a queue, and how many times it was delivered and came back (abandoned, lock lost)."""
    sequence = 0

    def __init__(self, message):
        Entry.sequence += 1
        self.message = message
        self.delivery_count = 0
        self.sequence_number = Entry.sequence
        self.enqueued = time.time()


class Broker(Handler):
    def __init__(self, args, key):
        super().__init__()
        self.args = args
        self.key = key
        self.host = args.host.lower()
        self.queues = {}
        for name in args.queue:
            self.queues[name.lower()] = collections.deque()
            self.queues[name.lower() + DEAD_LETTER_SUFFIX.lower()] = collections.deque()
        self.consumers = collections.defaultdict(list)  # queue -> links sending to clients
        self.entity_links = set()                       # links attached to a queue, for token expiry

    # --- start, timers ---------------------------------------------------------------------
    def on_reactor_init(self, event):
        domain = SSLDomain(SSLDomain.MODE_SERVER)
        domain.set_credentials(self.args.cert, self.args.key_pem, None)
        event.container.listen('127.0.0.1:%d' % self.args.port, ssl_domain=domain)
        emit('listening', port=self.args.port, host=self.args.host, queues=self.args.queue)
        event.container.schedule(0.5, Timer(self.check_token_expiry))
        event.container.schedule(self.args.lifetime, Timer(lambda container: os._exit(0)))

    def check_token_expiry(self, container):
        now = time.time()
        for link in list(self.entity_links):
            if link.state & Endpoint.LOCAL_CLOSED:
                self.entity_links.discard(link)
                continue
            if self.token_expiry(link.connection, link.sb_entity) < now:
                emit('token-expired', address=link.sb_entity)
                self.refuse(link, 'amqp:unauthorized-access', 'The token for %s has expired' % link.sb_entity)
        container.schedule(0.5, Timer(self.check_token_expiry))

    # --- connections and sessions ----------------------------------------------------------
    def on_connection_bound(self, event):
        # SASL is required (a client that skips it is refused) and only ANONYMOUS is offered:
        # Service Bus authorizes with CBS tokens, not SASL credentials.
        event.transport.require_auth(True)
        event.transport.sasl().allowed_mechs('ANONYMOUS')

    def on_connection_remote_open(self, event):
        conn = event.connection
        conn.sb_tokens = {}       # audience path -> expiry (seconds)
        conn.sb_cbs_replies = {}  # reply-to address -> link
        conn.open()
        hostname = (conn.remote_hostname or '').lower()
        if hostname != self.host:
            emit('connection-refused', hostname=conn.remote_hostname, reason='not this namespace')
            conn.condition = Condition('amqp:not-found', "the namespace '%s' does not exist here (expected %s)"
                                       % (conn.remote_hostname, self.args.host))
            conn.close()

    def on_connection_remote_close(self, event):
        self.connection_gone(event.connection)
        event.connection.close()

    def on_transport_closed(self, event):
        if event.connection is not None:
            self.connection_gone(event.connection)

    def on_session_remote_open(self, event):
        event.session.open()

    def on_session_remote_close(self, event):
        event.session.close()

    # --- links ------------------------------------------------------------------------------
    def on_link_remote_open(self, event):
        link = event.link
        address = (link.remote_source.address if link.is_sender else link.remote_target.address) or ''
        link.sb_entity = None
        link.sb_pending = []
        if address == '$cbs':
            if link.is_sender:  # carries replies to the client's reply-to address
                link.source.address = '$cbs'
                link.target.address = link.remote_target.address
                link.connection.sb_cbs_replies[link.remote_target.address] = link
            else:
                link.target.address = '$cbs'
            link.open()
            if link.is_receiver:
                link.flow(10)
            return
        entity = address.lower()
        if entity not in self.queues:
            emit('link-refused', address=address, reason='not-found')
            self.refuse(link, 'amqp:not-found', "The messaging entity '%s' could not be found" % address)
            return
        if self.token_expiry(link.connection, entity) < time.time():
            emit('link-refused', address=address, reason='no valid token')
            self.refuse(link, 'amqp:unauthorized-access', 'Unauthorized access: no valid CBS token for %s' % address)
            return
        link.sb_entity = entity
        self.entity_links.add(link)
        if link.is_sender:
            link.source.address = address
            link.sb_locks = {}
            self.consumers[entity].append(link)
            link.open()
        else:
            link.target.address = address
            link.open()
            link.flow(100)
        emit('link-attached', address=address, role='receiving from client' if link.is_receiver else 'sending to client')

    def refuse(self, link, condition, description):
        """Attach (if not yet) and detach at once with an error, as Service Bus does."""
        if link.state & Endpoint.LOCAL_UNINIT:
            link.open()
        link.condition = Condition(condition, description)
        link.close()
        self.link_gone(link)

    def on_link_remote_close(self, event):
        self.link_gone(event.link)
        if not event.link.state & Endpoint.LOCAL_CLOSED:
            event.link.close()

    def link_gone(self, link):
        """A client's receiving link is gone: what it held locked comes back, delivery-count + 1."""
        self.entity_links.discard(link)
        entity = getattr(link, 'sb_entity', None)
        if entity and link in self.consumers.get(entity, []):
            self.consumers[entity].remove(link)
        locks = getattr(link, 'sb_locks', {})
        for entry in list(locks.values()):
            self.put_back(entity, entry)
        locks.clear()
        if entity:
            self.dispatch(entity)

    def connection_gone(self, conn):
        link = conn.link_head(0)
        while link:
            self.link_gone(link)
            link = link.next(0)

    def on_link_flow(self, event):
        link = event.link
        if link.is_sender:
            self.flush_pending(link)
            if link.sb_entity:
                self.dispatch(link.sb_entity)

    # --- tokens -------------------------------------------------------------------------------
    def token_expiry(self, conn, entity):
        """The latest expiry among this connection's tokens that cover `entity`; 0 if none."""
        path = self.host + '/' + entity
        return max([expiry for audience, expiry in getattr(conn, 'sb_tokens', {}).items() if covers(audience, path)],
                   default=0)

    def check_token(self, token, audience):
        """('', expiry) when `token` authorizes `audience`, else (why not, 0): why is a 401's status-description."""
        why, fields = self.token_problem(token, audience)
        return (why, 0) if why else ('', int(fields['se']))

    def token_problem(self, token, audience):
        prefix = 'SharedAccessSignature '
        if not isinstance(token, str) or not token.startswith(prefix):
            return 'the token is not a string starting with "SharedAccessSignature "', None
        fields = {}
        for part in token[len(prefix):].split('&'):
            name, sep, value = part.partition('=')
            if not sep or name in fields:
                return 'the token has a malformed or repeated field: %r' % name, None
            fields[name] = value
        missing = [name for name in ('sr', 'sig', 'se', 'skn') if name not in fields]
        if missing:
            return 'the token lacks %s' % ', '.join(missing), None
        if fields['skn'] != self.args.key_name:
            return 'unknown shared access key name %r' % fields['skn'], None
        if not fields['se'].isdigit():
            return 'se is not a number of seconds', None
        if int(fields['se']) <= time.time():
            return 'the token has expired', None
        expected = base64.b64encode(hmac.new(self.key, (fields['sr'] + '\n' + fields['se']).encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(urllib.parse.unquote(fields['sig']), expected):
            return 'the signature is not base64(HMAC-SHA256(key, sr + "\\n" + se))', None
        resource = strip_scheme(urllib.parse.unquote(fields['sr']))
        target = strip_scheme(audience)
        if resource.split('/', 1)[0] != self.host or not covers(resource, target):
            return 'the token for %s does not cover %s' % (urllib.parse.unquote(fields['sr']), audience), None
        if target.split('/', 1)[0] != self.host:
            return 'the audience %s is not on this namespace' % audience, None
        return '', fields

    def put_token(self, link, message):
        props = message.properties or {}
        audience = str(props.get('name', ''))
        if props.get('operation') != 'put-token':
            status, why = 400, 'operation must be put-token'
        elif props.get('type') != 'servicebus.windows.net:sastoken':
            status, why = 400, 'type must be servicebus.windows.net:sastoken'
        else:
            why, expiry = self.check_token(message.body, audience)
            status = 401 if why else 200
        if status == 200:
            link.connection.sb_tokens[strip_scheme(audience)] = expiry
        else:
            expiry = 0
        emit('put-token', audience=audience, accepted=status == 200, status=status, reason=why, expiry=expiry)
        if not message.reply_to:
            emit('cbs-error', reason='put-token without reply-to')
            return
        reply_link = link.connection.sb_cbs_replies.get(message.reply_to)
        if reply_link is None:
            emit('cbs-error', reason='no link to the reply-to address %s' % message.reply_to)
            return
        reply = Message(correlation_id=message.id, address=message.reply_to,
                        properties={'status-code': int32(status), 'status-description': why or 'OK'})
        reply_link.sb_pending.append(reply)
        self.flush_pending(reply_link)

    def flush_pending(self, link):
        pending = getattr(link, 'sb_pending', [])
        while pending and link.credit > 0:
            delivery = link.send(pending.pop(0))
            delivery.settle()

    # --- messages in --------------------------------------------------------------------------
    def on_delivery(self, event):
        delivery = event.delivery
        link = delivery.link
        if link.is_receiver:
            if delivery.partial or not delivery.readable:
                return
            data = link.recv(delivery.pending)
            link.advance()
            link.flow(1)
            message = Message()
            message.decode(data)
            if link.target.address == '$cbs':
                self.put_token(link, message)
                delivery.update(Delivery.ACCEPTED)
            elif len(data) > MAX_MESSAGE_BYTES:
                delivery.local.condition = Condition('amqp:link:message-size-exceeded',
                                                     'The message is larger than %d bytes' % MAX_MESSAGE_BYTES)
                delivery.update(Delivery.REJECTED)
                emit('refused', queue=link.sb_entity, reason='message-size-exceeded', size=len(data))
            else:
                self.queues[link.sb_entity].append(Entry(message))
                delivery.update(Delivery.ACCEPTED)
                emit('stored', queue=link.sb_entity, message_id=str(message.id))
                self.dispatch(link.sb_entity)
            delivery.settle()
        elif delivery.updated:
            self.settled_by_client(link, delivery)

    # --- messages out: peek-lock --------------------------------------------------------------
    def dispatch(self, entity):
        ready = self.queues.get(entity)
        progress = True
        while ready and progress:
            progress = False
            for link in self.consumers[entity]:
                if ready and link.credit > 0:
                    self.deliver(link, entity, ready.popleft())
                    progress = True

    def deliver(self, link, entity, entry):
        message = entry.message
        message.delivery_count = entry.delivery_count
        message.first_acquirer = entry.delivery_count == 0
        annotations = dict(message.annotations or {})
        annotations[symbol('x-opt-sequence-number')] = entry.sequence_number
        annotations[symbol('x-opt-enqueued-time')] = timestamp(int(entry.enqueued * 1000))
        message.annotations = annotations
        delivery = link.send(message)
        link.sb_locks[delivery.tag] = entry
        emit('delivered', queue=entity, message_id=str(message.id), delivery_count=entry.delivery_count)

    def settled_by_client(self, link, delivery):
        entry = link.sb_locks.pop(delivery.tag, None) if hasattr(link, 'sb_locks') else None
        if entry is None:
            delivery.settle()
            return
        entity = link.sb_entity
        state = delivery.remote_state
        message_id = str(entry.message.id)
        if state == Delivery.ACCEPTED:
            emit('completed', queue=entity, message_id=message_id)
        elif state == Delivery.REJECTED:
            condition = delivery.remote.condition
            reason, description = 'rejected', ''
            if condition is not None:
                info = condition.info or {}
                if condition.name == 'com.microsoft:dead-letter':
                    reason = str(info.get('DeadLetterReason', info.get(symbol('DeadLetterReason'), reason)))
                    description = str(info.get('DeadLetterErrorDescription',
                                               info.get(symbol('DeadLetterErrorDescription'), condition.description or '')))
                else:
                    reason, description = condition.name, condition.description or ''
            self.dead_letter(entity, entry, reason, description)
        else:  # modified, released, or settled without an outcome: an abandon
            outcome = {Delivery.MODIFIED: 'modified', Delivery.RELEASED: 'released'}.get(state, 'none')
            emit('abandoned', queue=entity, message_id=message_id, outcome=outcome,
                 delivery_failed=bool(delivery.remote.failed))
            self.put_back(entity, entry)
        delivery.settle()
        self.dispatch(entity)

    def put_back(self, entity, entry):
        """An abandoned lock: the message returns to the front, or to the dead-letter queue."""
        entry.delivery_count += 1
        if entry.delivery_count >= self.args.max_delivery_count:
            self.dead_letter(entity, entry, 'MaxDeliveryCountExceeded',
                             'Message could not be consumed after %d delivery attempts.' % entry.delivery_count)
            return
        self.queues[entity].appendleft(entry)

    def dead_letter(self, entity, entry, reason, description):
        dlq = entity + DEAD_LETTER_SUFFIX.lower()
        message = entry.message
        props = dict(message.properties or {})
        props['DeadLetterReason'] = reason
        props['DeadLetterErrorDescription'] = description
        message.properties = props
        dead = Entry(message)
        dead.delivery_count = 0
        self.queues[dlq].append(dead)
        emit('dead-lettered', queue=entity, message_id=str(message.id), reason=reason,
             delivery_count=entry.delivery_count)
        self.dispatch(dlq)


class Timer:
    def __init__(self, action):
        self.action = action

    def on_timer_task(self, event):
        self.action(event.container)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--cert', required=True, help='server certificate (PEM), for --host')
    parser.add_argument('--key', dest='key_pem', required=True, help="the certificate's private key (PEM)")
    parser.add_argument('--host', default='localhost', help='the namespace host name clients must open')
    parser.add_argument('--key-name', default='RootManageSharedAccessKey')
    parser.add_argument('--key-file', required=True, help='file holding the shared access key')
    parser.add_argument('--queue', action='append', required=True)
    parser.add_argument('--max-delivery-count', type=int, default=10)
    parser.add_argument('--lifetime', type=float, default=3600, help='exit after this many seconds')
    args = parser.parse_args()
    with open(args.key_file) as f:
        key = f.read().strip().encode()
    try:
        Container(Broker(args, key)).run()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    sys.exit(main())
