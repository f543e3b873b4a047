import Billing
import PropertyBased
import Testing

/// The portal's wallet-or-token change, without I/O.
@Suite("Payment change: a proven new wallet or token applies only when nothing is in flight")
struct PaymentChangeTests {
    static let current = (wallet: "0xaaa", token: "USDC")
    static let accepted: Set<String> = ["USDC", "USDT"]

    @Test("the table", arguments: [
        // proven wallet, proven token, in flight, expected
        ("0xbbb", "USDC", false, PaymentChange.apply(wallet: "0xbbb", token: "USDC")),
        ("0xaaa", "USDT", false, .apply(wallet: "0xaaa", token: "USDT")),
        ("0xbbb", "usdt", false, .apply(wallet: "0xbbb", token: "USDT")),
        ("0xbbb", "USDT", true, .wait("a payment is on its way from 0xaaa; the new wallet or token applies once it has settled: try again in a minute")),
        ("0xaaa", "USDC", false, .unchanged),
        ("0xaaa", "usdc", true, .unchanged),  // the same report again after a charge started: nothing to do, nothing to wait for
        ("0xbbb", "DAI", false, .refuse("DAI is not accepted here (accepted: USDC, USDT)")),
        ("0xaaa", "DAI", true, .refuse("DAI is not accepted here (accepted: USDC, USDT)")),
    ])
    func table(_ wallet: String, _ token: String, _ inFlight: Bool, _ expected: PaymentChange) {
        #expect(PaymentChange.decide(current: Self.current, proven: (wallet, token), accepted: Self.accepted, inFlight: inFlight) == expected)
    }

    @Test("never applies while a charge is in flight, never to a token not accepted, always to the proven wallet")
    func properties() async {
        let wallets = ["0xaaa", "0xbbb", "0xccc"], tokens = ["USDC", "usdc", "USDT", "DAI", "eurc"]
        await propertyCheck(count: 1_000, input: Gen.int(in: 0...2), Gen.int(in: 0...4), Gen.int(in: 0...4), Gen.bool) { w, t, c, inFlight in
            let current = (wallet: wallets[(w + 1) % 3], token: tokens[c])
            let verdict = PaymentChange.decide(current: current, proven: (wallets[w], tokens[t]), accepted: Self.accepted, inFlight: inFlight)
            switch verdict {
            case .apply(let wallet, let token):
                #expect(!inFlight)
                #expect(wallet == wallets[w] && token == tokens[t].uppercased() && Self.accepted.contains(token))
            case .unchanged:
                #expect(wallets[w] == current.wallet && tokens[t].uppercased() == current.token.uppercased())
            case .wait:
                #expect(inFlight)
            case .refuse:
                #expect(!Self.accepted.contains(tokens[t].uppercased()))
            }
        }
    }
}
