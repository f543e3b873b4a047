import SettleCore
import Settlement
import Testing

@Suite("Rates: configured pairs, stablecoin parity, no guessing")
struct RateProviderTests {
    @Test("parity for a stablecoin in its own currency, configured rates otherwise, an error when there is none")
    func rates() throws {
        let provider = StaticRateProvider(rates: [("USDC", "EUR", try ExchangeRate(decimal: "1.0825"))], asOf: 42)
        #expect(try provider.rate(currency: Currency(code: "USD"), token: "usdc") == (.parity, 42))
        #expect(try provider.rate(currency: Currency(code: "EUR"), token: "EURC").rate == .parity)
        #expect(try provider.rate(currency: Currency(code: "eur"), token: "USDC").rate.description == "1.0825")
        #expect(throws: LedgerError.self) { try provider.rate(currency: Currency(code: "GBP"), token: "USDC") }
        #expect(throws: LedgerError.self) { try provider.rate(currency: Currency(code: "USD"), token: "WETH") }
        // €10.00 at 1.0825 USDC per euro is 10.825 USDC.
        let amount = try Money(minorUnits: 1000, currency: Currency(code: "EUR"))
            .tokenAmount(decimals: 6, rate: try provider.rate(currency: Currency(code: "EUR"), token: "USDC").rate)
        #expect(amount.baseUnits == 10_825_000)
    }
}
