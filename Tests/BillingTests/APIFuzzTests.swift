@testable import API
import SettleCore
import Settlement
import TestSupport
import Testing

/// Issue 14: the parsers of the `/v1` API's query parameters and admin bodies see 100,000 random and mutated inputs
/// each. A parser either returns a value within its documented range or throws `APIError` (typed throws: a 400
/// naming the parameter); a trap fails the run.
@Suite("Fuzz: API query parameters and admin bodies")
struct APIFuzzTests {
    static let count = 100_000

    /// Real values a client sends, and the cursors the API itself hands out.
    static let realValues = [
        "50", "500", "1", "25000000", "1000000000000000000", "month", "year", "13", "due,awaiting_funds", "settled", "USDC", "base",
        PageCursor.encode(["123"]), PageCursor.encode(["9223372036854775807"]), PageCursor.encode(["17", "4"]), PageCursor.encode(["0", "0"]),
    ]

    /// Values: a real one, one of the fuzzer's numbers and strings, or bytes (random or a mutated real value) as text.
    struct Values {
        var rng: SeededGenerator
        var bytes: FuzzInputs

        init(seed: UInt64) {
            rng = SeededGenerator(seed: seed)
            bytes = FuzzInputs(count: Int.max, seeds: APIFuzzTests.realValues.map { Array($0.utf8) }, maxLength: 40, seed: seed ^ 0xA91)
        }

        mutating func next() -> String {
            switch rng.next() % 4 {
            case 0: return APIFuzzTests.realValues[Int(rng.next() % UInt64(APIFuzzTests.realValues.count))]
            case 1: return JSONFuzzInputs.numbers[Int(rng.next() % UInt64(JSONFuzzInputs.numbers.count))]
            case 2: return JSONFuzzInputs.strings[Int(rng.next() % UInt64(JSONFuzzInputs.strings.count))]
            default: return String(decoding: bytes.next() ?? [], as: UTF8.self)
            }
        }
    }

    @Test("limit, amount, interval_count, payments, state, cursors and the suggested allowance")
    func queryParameters() throws {
        var values = Values(seed: 501)
        var accepted = (limit: 0, amount: 0, unsigned: 0, states: 0, cursor: 0, position: 0, suggested: 0)
        for _ in 0..<Self.count {
            let query = QueryParameters(query: ["limit": values.next(), "amount": values.next(), "interval_count": values.next(),
                                                "payments": values.next(), "state": values.next(), "cursor": values.next()])
            if let limit = try? query.limit() {
                accepted.limit += 1
                #expect((1...500).contains(limit))
            }
            let amount = try? query.amount()
            if let amount {
                accepted.amount += 1
                #expect(try UInt256(decimal: amount.description) == amount)
            }
            let count = try? query.unsigned("interval_count", fallback: 1)
            let payments = try? query.unsigned("payments", fallback: 13)
            if let count, let payments {
                accepted.unsigned += 1
                #expect(count > 0 && payments > 0)
            }
            if let text = query.string("state"), let states = try? SettleAPI.chargeStates(text) {
                accepted.states += 1
                #expect(!states.isEmpty)
            }
            if let id = try? PageCursor.decodeInteger(query.string("cursor")) {
                accepted.cursor += 1
                #expect(id >= 0 && (try? PageCursor.decodeInteger(PageCursor.encode([String(id)]))) == id)
            }
            if let position = try? PageCursor.decodePosition(query.string("cursor")) {
                accepted.position += 1
                #expect(position.block <= UInt64(Int64.max) && position.logIndex <= UInt64(Int64.max))
            }
            if let amount, let count, let payments {
                do throws(APIError) {
                    let suggested = try SuggestedAllowance.compute(amount: amount, interval: "month", intervalCount: count, payments: payments)
                    accepted.suggested += 1
                    #expect(suggested == (try? amount.checkedMultiplying(by: UInt256(count)).checkedMultiplying(by: UInt256(payments))))
                } catch {
                    #expect(error.code == "bad_request")
                }
            }
        }
        #expect(accepted.limit > 0 && accepted.amount > 0 && accepted.unsigned > 0 && accepted.states > 0)
        #expect(accepted.cursor > 0 && accepted.position > 0 && accepted.suggested > 0)
    }

    @Test("POST /v1/agreements bodies")
    func agreementBodies() throws {
        let seeds: [JSON] = [
            ["customer": "cus_1", "subscription": "sub_1", "chain": "base", "token": "usdc", "wallet": "0x1111111111111111111111111111111111111111"],
            ["customer": "cus_2", "chain": "solana", "token": "USDC", "wallet": "9K9XHnAm2LWEoveSsYM65Fk59uKweXwA4q1neQymNE5b"],
        ]
        var read = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: seeds, seed: 502) {
            do throws(APIError) {
                let request = try AgreementRequest(body: input.bytes)
                read += 1
                #expect(!request.customer.isEmpty && !request.chain.isEmpty && !request.token.isEmpty && !request.wallet.isEmpty)
                #expect(request.subscription.map { !$0.isEmpty } ?? true)
            } catch {
                #expect(error.code == "bad_request")
            }
        }
        #expect(read > Self.count / 20)
    }
}
