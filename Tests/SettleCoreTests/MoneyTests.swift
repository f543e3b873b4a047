import SettleCore
import TestSupport
import Testing

struct MoneyVector: Decodable, Sendable {
    let minor: String
    let currency: String
    let decimals: Int
    let rate: String
    let expected: String?
}

@Suite("Money to token amounts: integers only, rounded up by at most one base unit")
struct MoneyTests {
    @Test("minor units × rate × 10^decimals agrees with Python's exact fractions (ceil), overflow is an error")
    func vectors() throws {
        let vectors = try Vectors.load("money", as: [MoneyVector].self)
        #expect(vectors.count >= 1000)
        for v in vectors {
            let money = Money(minorUnits: UInt64(v.minor) ?? 0, currency: try Currency(code: v.currency))
            let rate = try ExchangeRate(decimal: v.rate)
            if let expected = v.expected {
                #expect(try money.tokenAmount(decimals: v.decimals, rate: rate).baseUnits.description == expected, "\(v)")
            } else {
                #expect(throws: CoreError.self) { try money.tokenAmount(decimals: v.decimals, rate: rate) }
            }
        }
    }

    @Test("stablecoins at parity: $25.00 is 25,000,000 USDC base units, ¥500 is 500 × 10^6 JPYC base units")
    func parity() throws {
        #expect(try Money(minorUnits: 2500, currency: Currency(code: "usd")).tokenAmount(decimals: 6).baseUnits == 25_000_000)
        #expect(try Money(minorUnits: 2500, currency: Currency(code: "USD")).tokenAmount(decimals: 18).baseUnits.description == "25000000000000000000")
        #expect(try Money(minorUnits: 500, currency: Currency(code: "JPY")).tokenAmount(decimals: 6).baseUnits == 500_000_000)
        // 1 cent into a 0-decimal token rounds up to 1 (the merchant is never short), never more.
        #expect(try Money(minorUnits: 1, currency: Currency(code: "USD")).tokenAmount(decimals: 0).baseUnits == 1)
        #expect(try Money(minorUnits: 100, currency: Currency(code: "USD")).tokenAmount(decimals: 0).baseUnits == 1)
        #expect(try Money(minorUnits: 101, currency: Currency(code: "USD")).tokenAmount(decimals: 0).baseUnits == 2)
    }

    @Test("bad currencies and rates are typed errors", arguments: ["", "1.", ".5", "-1", "1e3", "0", "0.000", "abc", "1.2.3"])
    func badRate(text: String) {
        #expect(throws: CoreError.self) { try ExchangeRate(decimal: text) }
    }

    @Test("currency codes")
    func currencies() throws {
        #expect(try Currency(code: "kwd").exponent == 3)
        #expect(try Currency(code: "EUR").exponent == 2)
        #expect(#expect(throws: CoreError.self) { try Currency(code: "US$") }?.code == .invalidCurrency)
        #expect(try ExchangeRate(decimal: "0.0825").description == "0.0825")
    }
}
