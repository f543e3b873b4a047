/// The error the billing layer throws (webhook verification, Stripe requests).
public struct BillingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// A webhook signature header that is missing, malformed, or matches no secret.
        public static let invalidSignature = Code("invalidSignature")
        /// A webhook signed too long ago (or in the future) for the tolerance window.
        public static let staleSignature = Code("staleSignature")
        /// A Stripe object or event Settle cannot read (missing or mistyped field).
        public static let malformed = Code("malformed")
        /// A request Settle refuses (an invoice in the wrong state for collect-now, an unknown invoice, …).
        public static let invalidInput = Code("invalidInput")
        /// Stripe could not be read, so nothing that depends on the invoice was done (retryable).
        public static let unavailable = Code("unavailable")

        public var description: String { raw }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
