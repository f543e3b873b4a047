@testable import API
import Testing

/// The connection deadlines and the cap's choice, as tables (no sockets).
@Suite("Connection deadlines and cap")
struct ConnectionDeadlinesTests {
    static let limits = ConnectionDeadlines.Limits(header: 10, body: 30, idle: 60, bodyBytes: 100)

    enum Step { case bytes(UInt64), head(UInt64), body(Int), end(UInt64), responded(UInt64) }

    /// Steps → (phase, deadline, evictable) after the last one.
    static let rows: [(String, [Step], ConnectionDeadlines.Phase, UInt64?, Bool)] = [
        ("fresh connection: idle deadline from the opening", [], .idle, 60, true),
        ("a first byte starts the header deadline", [.bytes(5)], .readingHead, 15, true),
        ("more bytes do not extend it (slowloris)", [.bytes(5), .bytes(9), .bytes(14)], .readingHead, 15, true),
        ("a complete head: the body deadline, not evictable", [.bytes(5), .head(7)], .readingBody, 37, false),
        ("body chunks do not extend it", [.bytes(5), .head(7), .body(10), .body(10)], .readingBody, 37, false),
        ("request read: responding, no read deadline", [.bytes(5), .head(7), .end(8)], .responding, nil, false),
        ("response ended: idle again from its end", [.bytes(5), .head(7), .end(8), .responded(20)], .idle, 80, true),
        ("bytes of the next request while responding: header deadline from them once the response ends",
         [.head(1), .end(1), .bytes(3), .responded(20)], .readingHead, 13, true),
        ("a pipelined head while responding", [.head(1), .end(1), .head(4)], .readingBody, 34, false),
        ("pipelined: the first response ends while the second body is read", [.head(1), .end(1), .head(4), .responded(5)], .readingBody, 34, false),
        ("pipelined: both read, one answered", [.head(1), .end(1), .head(4), .end(6), .responded(7)], .responding, nil, false),
        ("pipelined: both answered", [.head(1), .end(1), .head(4), .end(6), .responded(7), .responded(9)], .idle, 69, true),
    ]

    @Test("phase, deadline and evictability after each sequence", arguments: rows.indices)
    func table(_ index: Int) {
        let (name, steps, phase, deadline, evictable) = Self.rows[index]
        var machine = ConnectionDeadlines(limits: Self.limits, openedAt: 0)
        for step in steps {
            switch step {
            case .bytes(let t): machine.bytes(now: t)
            case .head(let t): machine.head(now: t)
            case .body(let n): _ = machine.body(count: n)
            case .end(let t): machine.end(now: t)
            case .responded(let t): machine.responded(now: t)
            }
        }
        #expect(machine.phase == phase, "\(name)")
        #expect(machine.deadline == deadline, "\(name)")
        #expect(machine.evictable == evictable, "\(name)")
        if let deadline {
            #expect(!machine.expired(now: deadline - 1) && machine.expired(now: deadline), "\(name)")
        } else {
            #expect(!machine.expired(now: .max), "\(name)")
        }
    }

    @Test("a body past the limit closes; counts never overflow; deadlines saturate")
    func bodyLimit() {
        var machine = ConnectionDeadlines(limits: Self.limits, openedAt: 0)
        machine.head(now: 1)
        let within = [machine.body(count: 60), machine.body(count: 40)]
        let beyond = [machine.body(count: 1), machine.body(count: .max)]
        #expect(within == [true, true] && beyond == [false, false])
        machine.head(now: 2)  // the next request counts afresh
        let afresh = machine.body(count: 100)
        #expect(afresh)
        let late = ConnectionDeadlines(limits: Self.limits, openedAt: .max - 5)
        #expect(late.deadline == .max)
    }

    @Test("the cap sheds the connection evictable the longest; refuses when all are busy")
    func governor() {
        let cap = ConnectionGovernor<String>(capacity: 3)
        guard case .admitted(let a, nil) = cap.admit("a", now: 1), case .admitted(let b, nil) = cap.admit("b", now: 2),
              case .admitted(let c, nil) = cap.admit("c", now: 3) else { Issue.record("admission below the cap"); return }
        cap.update(a, evictable: false, since: 4)  // a is busy
        cap.update(c, evictable: true, since: 1)   // c idle since 1, b since 2
        guard case .admitted(let d, let victim) = cap.admit("d", now: 5) else { Issue.record("refused with idle connections"); return }
        #expect(victim == "c")
        #expect(cap.count == 3)
        cap.update(b, evictable: false, since: 6)
        cap.update(d, evictable: false, since: 6)
        guard case .refused = cap.admit("e", now: 7) else { Issue.record("admitted with every connection busy"); return }
        cap.closed(a)
        guard case .admitted(_, nil) = cap.admit("f", now: 8) else { Issue.record("no room after a close"); return }
        #expect(cap.count == 3)
    }
}
