import EVMIndexer
import PropertyBased
import Testing

@Suite("Requests in flight: additive increase, multiplicative decrease, one decrease per burst")
struct RequestWindowTests {
    @Test("a table of answers")
    func table() {
        var window = RequestWindow(maximum: 8)
        #expect(window.allowed == 8)
        window.answered(sentIn: 0, overloaded: true)
        #expect(window.allowed == 4)
        #expect(window.generation == 1)
        // The other seven answers of the same burst say nothing about the smaller window.
        for _ in 0..<7 { window.answered(sentIn: 0, overloaded: true) }
        #expect(window.allowed == 4)
        window.answered(sentIn: 1, overloaded: true)
        #expect(window.allowed == 2)
        window.answered(sentIn: 2, overloaded: true)
        window.answered(sentIn: 3, overloaded: true)
        window.answered(sentIn: 4, overloaded: true)
        #expect(window.allowed == 1)  // never below one
        // Clean answers widen it by about one per window's worth: 1 → 2 after one answer (1 + 1/1), → 3 after three
        // more (2 + 1/2 + 1/2.5 + 1/2.9).
        window.answered(sentIn: 5, overloaded: false)
        #expect(window.allowed == 2)
        window.answered(sentIn: 5, overloaded: false)
        window.answered(sentIn: 5, overloaded: false)
        #expect(window.allowed == 2)
        window.answered(sentIn: 5, overloaded: false)
        #expect(window.allowed == 3)
        for _ in 0..<100 { window.answered(sentIn: 5, overloaded: false) }
        #expect(window.allowed == 8)  // never above the maximum
        #expect(RequestWindow(maximum: 0).allowed == 1)
        #expect(RequestWindow(maximum: 8, initial: 2).allowed == 2)
        #expect(RequestWindow(maximum: 8, initial: 99).allowed == 8)
    }

    @Test("random answers: always 1...maximum; a current overload at least halves it; a stale one changes nothing; clean answers never narrow it")
    func property() async {
        await propertyCheck(count: 2_000, input: Gen.int(in: 1...64), Gen.int(in: 0...5).array(of: 1...200)) { maximum, steps in
            var window = RequestWindow(maximum: maximum)
            for step in steps {
                let before = window
                switch step {
                case 0:  // an overload on a request of the current generation
                    window.answered(sentIn: window.generation, overloaded: true)
                    #expect(window.allowed <= max(1, before.allowed / 2))
                    #expect(window.generation == before.generation + 1)
                case 1:  // an overload on a request sent before the last decrease
                    window.answered(sentIn: window.generation &- 1, overloaded: true)
                    #expect(window == before)
                default:
                    window.answered(sentIn: window.generation, overloaded: false)
                    #expect(window.allowed >= before.allowed)
                    #expect(window.allowed <= before.allowed + 1)
                }
                #expect((1...maximum).contains(window.allowed))
            }
        }
    }
}

@Suite("eth_getLogs range size: doubles while answered, shrinks to what the provider takes, grows back slowly")
struct LogRangeSizeTests {
    @Test("a table of answers and refusals")
    func table() {
        var size = LogRangeSize(maximum: 2_000)
        #expect(size.current == 100)
        size.answered(size: 100)
        #expect(size.current == 200)
        size.answered(size: 37)  // the last, short range of history: no growth
        #expect(size.current == 200)
        size.answered(size: 200)
        size.answered(size: 400)
        #expect(size.current == 800)
        size.refused(size: 800, next: 300)  // "try with this block range" of 300 blocks
        #expect(size.current == 300 && size.ceiling == 300)
        for _ in 0..<(LogRangeSize.relaxAfter - 1) { size.answered(size: 300) }
        #expect(size.current == 300)  // not back towards the refused size at once
        size.answered(size: 300)  // after relaxAfter answers at the ceiling it rises by an eighth
        #expect(size.ceiling == 300 + 37 && size.current == 337)
        size.refused(size: 337, next: 168)
        #expect(size.current == 168 && size.ceiling == 168)
        size.refused(size: 1, next: 1)
        #expect(size.current == 1 && size.ceiling == 1)
        size.answered(size: 1)
        #expect(size.current == 1)  // the ceiling holds it until relaxed
        #expect(LogRangeSize(maximum: 10).current == 10)
        #expect(LogRangeSize(maximum: 0).current == 1)
        var huge = LogRangeSize(maximum: .max, initial: .max / 2 + 1)
        huge.answered(size: .max / 2 + 1)  // doubling past UInt64 stops at the maximum, never traps
        #expect(huge.current == .max)
    }

    @Test("random answers and refusals: always 1...maximum, never above the ceiling, never traps")
    func property() async {
        await propertyCheck(count: 2_000, input: Gen.uint64(in: 1...5_000), Gen.uint64(in: 0...6_000).array(of: 1...120)) { maximum, steps in
            var size = LogRangeSize(maximum: maximum)
            for step in steps {
                if step % 3 == 0 {
                    let refused = size.current
                    size.refused(size: refused, next: max(1, refused / 2))
                    #expect(size.current < refused || refused == 1)
                } else {
                    size.answered(size: size.current)
                }
                #expect((1...maximum).contains(size.current))
                #expect(size.current <= size.ceiling)
            }
        }
    }
}
