import Foundation
import SettleCore

/// Where the rate of a charge comes from: whole tokens per unit of the invoice's currency, and when it was taken.
public protocol RateProvider: Sendable {
    /// The rate for paying `currency` with `token` (a symbol from the chain file).
    /// - Throws: `LedgerError.invalidInput` when there is no rate for the pair.
    func rate(currency: Currency, token: String) throws -> (rate: ExchangeRate, at: UInt64)
}

/// Rates from configuration (`[[rates]]` in a chain file), plus parity for stablecoins in their own currency.
public struct StaticRateProvider: RateProvider {
    /// Stablecoins and the currency each is pegged to 1:1.
    public static let pegs: [String: String] = [
        "USDC": "USD", "USDT": "USD", "PYUSD": "USD", "DAI": "USD", "USDS": "USD", "FDUSD": "USD", "USDG": "USD",
        "EURC": "EUR", "EURS": "EUR",
    ]

    /// Configured rates by `TOKEN/CURRENCY` (upper case).
    public let rates: [String: ExchangeRate]
    /// When the configured rates were taken (the configuration's load time).
    public let asOf: UInt64

    public init(rates: [(token: String, currency: String, rate: ExchangeRate)], asOf: UInt64 = UInt64(Date().timeIntervalSince1970)) {
        self.rates = Dictionary(rates.map { ("\($0.token.uppercased())/\($0.currency.uppercased())", $0.rate) }, uniquingKeysWith: { _, last in last })
        self.asOf = asOf
    }

    public func rate(currency: Currency, token: String) throws -> (rate: ExchangeRate, at: UInt64) {
        if let configured = rates["\(token.uppercased())/\(currency.code)"] { return (configured, asOf) }
        if Self.pegs[token.uppercased()] == currency.code { return (.parity, asOf) }
        throw LedgerError(.invalidInput, "no rate for paying \(currency.code) with \(token): add a [[rates]] entry (token, currency, rate) to the chain file")
    }
}
