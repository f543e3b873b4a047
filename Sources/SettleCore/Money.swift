/// An amount of fiat money in minor units (cents for USD, yen for JPY), with its ISO 4217 currency.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    /// Minor units: never negative (refunds are not charges).
    public var minorUnits: UInt64
    /// ISO 4217 code, upper case.
    public var currency: Currency

    public init(minorUnits: UInt64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public var description: String { "\(minorUnits) \(currency) minor units" }
}

/// An ISO 4217 currency and its minor-unit exponent.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    /// Upper-case three-letter code.
    public let code: String
    /// Digits after the decimal point of its minor unit (USD 2, JPY 0, KWD 3).
    public let exponent: Int

    /// The currency for `code` (any case), with its exponent from ISO 4217.
    /// - Throws: `CoreError.invalidCurrency` for a code that is not three letters.
    public init(code: String) throws(CoreError) {
        let upper = code.uppercased()
        guard upper.count == 3, upper.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw CoreError(.invalidCurrency, "'\(code)' is not a three-letter ISO 4217 currency code")
        }
        self.code = upper
        self.exponent = Self.exponents[upper] ?? 2
    }

    /// ISO 4217 exponents that differ from 2 (Stripe's list of zero- and three-decimal currencies).
    static let exponents: [String: Int] = [
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "JPY": 0, "KMF": 0, "KRW": 0, "MGA": 0, "PYG": 0, "RWF": 0, "UGX": 0,
        "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
    ]

    public var description: String { code }
}

/// An amount of a token in base units, with the token's decimals.
public struct TokenAmount: Hashable, Sendable, CustomStringConvertible {
    public var baseUnits: UInt256
    public var decimals: Int

    public init(baseUnits: UInt256, decimals: Int) {
        self.baseUnits = baseUnits
        self.decimals = decimals
    }

    public var description: String { "\(baseUnits) base units (\(decimals) decimals)" }
}

/// A conversion rate as an exact decimal: one unit of the currency is worth `value` whole tokens.
/// Parsed from decimal text (`"1"`, `"0.9213"`), never from a `Double`.
public struct ExchangeRate: Hashable, Sendable, CustomStringConvertible {
    /// The rate's digits as an integer …
    public let significand: UInt256
    /// … times 10^-scale.
    public let scale: Int

    /// 1:1, a stablecoin in its own currency.
    public static let parity = ExchangeRate(significand: 1, scale: 0)

    init(significand: UInt256, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    /// Parses a positive decimal like `"1"`, `"1.0825"`, `"0.000031"` (at most 36 fraction digits).
    /// - Throws: `CoreError.invalidDecimal` for anything else (signs, exponents, zero), `.overflow` when too large.
    public init(decimal text: String) throws(CoreError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty else {
            throw CoreError(.invalidDecimal, "rate '\(text)' is not a decimal number")
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fraction.isEmpty, fraction.count <= 36 else {
            throw CoreError(.invalidDecimal, "rate '\(text)' must have 1 to 36 digits after the point")
        }
        let digits = try UInt256(decimal: whole + fraction)
        guard !digits.isZero else { throw CoreError(.invalidDecimal, "a rate of zero would make every charge free") }
        self.init(significand: digits, scale: fraction.count)
    }

    public var description: String {
        let text = significand.description
        guard scale > 0 else { return text }
        let padded = String(repeating: "0", count: max(0, scale + 1 - text.count)) + text
        return padded.dropLast(scale) + "." + padded.suffix(scale)
    }
}

extension Money {
    /// The token amount for this money at `rate` (whole tokens per unit of the currency), for a token with
    /// `decimals`: `minor × rate × 10^decimals / 10^exponent`, computed exactly in integers and rounded UP to the
    /// next base unit when not exact, so the merchant is never short and never gains more than one base unit.
    /// - Throws: `CoreError.overflow` when the result does not fit 256 bits.
    public func tokenAmount(decimals: Int, rate: ExchangeRate = .parity) throws(CoreError) -> TokenAmount {
        guard decimals >= 0 && decimals <= 77 else { throw CoreError(.overflow, "\(decimals) decimals is out of range") }
        // numerator = minor × significand × 10^decimals; denominator = 10^(exponent + scale)
        var numerator = try UInt256(minorUnits).checkedMultiplying(by: rate.significand)
        numerator = try numerator.checkedMultiplying(by: try UInt256.powerOfTen(decimals))
        let denominator = try UInt256.powerOfTen(currency.exponent + rate.scale)
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        let rounded = remainder.isZero ? quotient : try quotient.checkedAdding(.one)
        return TokenAmount(baseUnits: rounded, decimals: decimals)
    }
}
