import CoreMetrics
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import SettleConfiguration

/// Hummingbird's HTTP/1.1 server with Settle's limits (`ServerLimits`): a deadline for every phase of a request
/// (`ConnectionDeadlines`), a connection cap that sheds the longest-idle connection first (`ConnectionGovernor`),
/// and a bound on any request body. Use as `Application(router:server: .guarded(limits, logger:))`.
extension HTTPServerBuilder {
    public static func guarded(_ limits: ServerLimits, logger: Logger) -> HTTPServerBuilder {
        let governor = ConnectionGovernor<any Channel>(capacity: limits.maxConnections)
        let deadlines = ConnectionDeadlines.Limits(
            header: nanoseconds(limits.headerTimeout), body: nanoseconds(limits.bodyTimeout), idle: nanoseconds(limits.idleTimeout),
            bodyBytes: limits.connectionBodyLimit)
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder), governor: governor, limits: deadlines, logger: logger)
        }
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}

/// One accepted connection: Hummingbird's HTTP/1.1 pipeline plus two watchers sharing a `ConnectionWatch` — one in
/// front of the HTTP decoder (raw bytes: a head has started) and one after it (heads, bodies, ends, responses).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let governor: ConnectionGovernor<any Channel>
    let limits: ConnectionDeadlines.Limits
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let watch = ConnectionWatch(channel: channel, governor: governor, limits: limits, logger: self.logger)
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(RawBytesWatcher(watch), position: .first)
            let state = try operations.handler(type: HTTPConnectionStateHandler.self)
            try operations.addHandler(RequestPartsWatcher(watch), position: .before(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// The deadlines and cap registration of one connection. `@unchecked Sendable`: every member is touched only on the
/// channel's event loop (handler callbacks and tasks scheduled on that loop).
final class ConnectionWatch: @unchecked Sendable {
    let channel: any Channel
    let governor: ConnectionGovernor<any Channel>
    let logger: Logger
    var deadlines: ConnectionDeadlines
    var id: Int?
    var timer: Scheduled<Void>?
    var armedFor: UInt64?
    /// What the cap was last told (it starts evictable, since the opening).
    var reported: (evictable: Bool, since: UInt64)?

    static let open = Gauge(label: "settle_http_connections")
    static func closed(_ reason: String) { Counter(label: "settle_http_connections_closed_total", dimensions: [("reason", reason)]).increment() }

    init(channel: any Channel, governor: ConnectionGovernor<any Channel>, limits: ConnectionDeadlines.Limits, logger: Logger) {
        self.channel = channel
        self.governor = governor
        self.logger = logger
        deadlines = ConnectionDeadlines(limits: limits, openedAt: Self.now())
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Registers with the cap. False when refused (the caller answers 503 and closes).
    func opened() -> Bool {
        guard id == nil else { return true }
        switch governor.admit(channel, now: Self.now()) {
        case .refused:
            Self.closed("refused")
            logger.warning("HTTP connection refused: every connection is busy", metadata: ["http.max_connections": "\(governor.capacity)"])
            return false
        case .admitted(let id, let evicting):
            self.id = id
            if let evicting {
                Self.closed("evicted")
                logger.debug("HTTP connection cap reached: closing the longest-idle connection")
                evicting.close(promise: nil)
            }
            Self.open.record(governor.count)
            rearm()
            return true
        }
    }

    func inactive() {
        timer?.cancel()
        timer = nil
        if let id {
            governor.closed(id)
            self.id = nil
            Self.open.record(governor.count)
        }
    }

    /// After an event: tell the cap whether the connection may be shed, and move the timer if the deadline moved.
    /// Both only when something moved: most reads (body chunks, bytes of a head) change neither, and the cap's lock
    /// is shared by every connection.
    func changed() {
        let now = (evictable: deadlines.evictable, since: deadlines.since)
        if let id, reported.map({ $0 != now }) ?? true {
            governor.update(id, evictable: now.evictable, since: now.since)
            reported = now
        }
        rearm()
    }

    private func rearm() {
        guard armedFor != deadlines.deadline else { return }
        timer?.cancel()
        timer = nil
        armedFor = deadlines.deadline
        guard let deadline = deadlines.deadline else { return }
        timer = channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(deadline)) { [self] in
            timer = nil
            armedFor = nil
            if deadlines.expired(now: Self.now()) {
                close(because: deadlines.phase.rawValue)
            } else {
                rearm()
            }
        }
    }

    func close(because reason: String) {
        Self.closed(reason)
        logger.debug("HTTP connection closed by its deadline or a limit", metadata: ["http.reason": "\(reason)"])
        channel.close(promise: nil)
    }
}

/// In front of the HTTP decoder: raw bytes mean a request head has started (the header deadline runs). Also admits
/// the connection when it becomes active.
final class RawBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let watch: ConnectionWatch

    init(_ watch: ConnectionWatch) { self.watch = watch }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard watch.id == nil, !watch.opened() else { return }
        // Straight to the socket (this handler is first): the HTTP pipeline never sees this connection's bytes.
        let body = #"{"error":{"code":"busy","message":"every connection is busy; retry shortly"}}"#
        let refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Retry-After: 1\r\nConnection: close\r\n\r\n" + body
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: refusal)), promise: nil)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        watch.deadlines.bytes(now: ConnectionWatch.now())
        watch.changed()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.inactive()
        context.fireChannelInactive()
    }
}

/// After the HTTP decoder: request heads, body chunks and ends in; response ends out.
final class RequestPartsWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let watch: ConnectionWatch

    init(_ watch: ConnectionWatch) { self.watch = watch }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            watch.deadlines.head(now: ConnectionWatch.now())
        case .body(let chunk):
            guard watch.deadlines.body(count: chunk.readableBytes) else {
                watch.close(because: "body_too_large")
                return
            }
        case .end:
            watch.deadlines.end(now: ConnectionWatch.now())
        }
        watch.changed()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            watch.deadlines.responded(now: ConnectionWatch.now())
            watch.changed()
        }
        context.write(data, promise: promise)
    }
}
