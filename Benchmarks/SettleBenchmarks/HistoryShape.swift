import EVM
import Foundation
import SettleCore

/// The synthetic EVM index of `settle-bench history`: `approvals` Approval events (and a tenth as many Transfers) over
/// `wallets` wallets, five tokens, our spender and 50 others. Every row is a pure function of its number `i`, written
/// once as SQL over `i` that SQLite and PostgreSQL both evaluate the same way, so both backends hold identical rows
/// (but for the random transaction hashes) and the load generator knows where every wallet's history lies.
///
/// - Rows `i` with `i % 10 == 0` belong to the `heavy` long-history wallets in turn (`approvals / 10 / heavy` each),
///   four in five of each wallet's to our spender (every fifth round to another): the wallets whose deep pages matter.
/// - The others are spread over the remaining wallets by a full-cycle permutation (`i * 7919 mod n`), one in three to
///   our spender: about 45 approvals per wallet at the default size.
/// - 100 approvals per block (log indexes 0–99) and the transfers after them (100–109); a block every 12 s.
struct HistoryShape: Sendable {
    var approvals: Int
    var wallets: Int
    var heavy: Int

    var transfers: Int { approvals / 10 }
    var blocks: Int { (approvals + 99) / 100 }
    /// Approvals of each long-history wallet (all spenders).
    var heavyDepth: Int { approvals / 10 / heavy }

    // Interned address ids (evm_addresses.id), fixed so the rows can name them.
    static let tokenIDs: ClosedRange<Int64> = 1...5
    static let ourSpenderID: Int64 = 6
    static let otherSpenderIDs: ClosedRange<Int64> = 7...56
    static let treasuryID: Int64 = 57
    static let firstWalletID: Int64 = 101

    func walletID(_ wallet: Int) -> Int64 { Self.firstWalletID + Int64(wallet) }
    /// Every address id the rows use.
    var addressIDs: [Int64] { Array(1...Self.treasuryID) + (0..<wallets).map(walletID) }

    /// The address interned as `id`: `0xa1` then the id in 19 big-endian bytes (no real address looks like it).
    static func address(_ id: Int64) -> EVMAddress {
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes[0] = 0xa1
        var value = UInt64(bitPattern: id)
        for index in stride(from: 19, through: 12, by: -1) {
            bytes[index] = UInt8(truncatingIfNeeded: value)
            value >>= 8
        }
        // 20 bytes by construction.
        guard let address = try? EVMAddress(hex: Hex.encode(bytes, prefix: true)) else { fatalError("20 bytes make an address") }
        return address
    }

    /// The 32-byte big-endian amounts the rows cycle through: 0 (a revoke), 25 and 300 USDC, and unlimited.
    static let amounts: [[UInt8]] = [UInt64(0), 25_000_000, 300_000_000].map { value in
        [UInt8](repeating: 0, count: 24) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    } + [[UInt8](repeating: 0xff, count: 32)]

    /// The chain position of the `k`-th approval (all spenders, oldest first) of long-history wallet `h`.
    func heavyPosition(wallet h: Int, approval k: Int) -> (block: Int, logIndex: Int) {
        let i = 10 * (h + heavy * k)
        return (i / 100, i % 100)
    }

    // MARK: SQL over `i` (both dialects)

    func ownerSQL(_ i: String) -> String {
        "CASE WHEN \(i) % 10 = 0 THEN \(Self.firstWalletID) + (\(i) / 10) % \(heavy) "
            + "ELSE \(Self.firstWalletID + Int64(heavy)) + (\(i) * 7919) % \(wallets - heavy) END"
    }

    func spenderSQL(_ i: String) -> String {
        let others = Self.otherSpenderIDs
        return "CASE WHEN \(i) % 10 = 0 THEN (CASE WHEN (\(i) / \(10 * heavy)) % 5 = 4 THEN \(others.lowerBound) + (\(i) / 50) % \(others.count) "
            + "ELSE \(Self.ourSpenderID) END) "
            + "ELSE (CASE WHEN \(i) % 3 = 0 THEN \(Self.ourSpenderID) ELSE \(others.lowerBound) + (\(i) / 3) % \(others.count) END) END"
    }

    func tokenSQL(_ i: String) -> String { "\(Self.tokenIDs.lowerBound) + (\(i) / 7) % \(Self.tokenIDs.count)" }

    /// `literal` writes a 32-byte blob in the dialect's syntax.
    func amountSQL(_ i: String, literal: ([UInt8]) -> String) -> String {
        "CASE \(i) % 4 " + Self.amounts.enumerated().map { "WHEN \($0.offset) THEN \(literal($0.element))" }.joined(separator: " ") + " END"
    }

    /// The column list and SELECT expressions of approvals `i`; `random32` is the dialect's 32 random bytes.
    func approvalSelect(chain: Int64, random32: String, literal: ([UInt8]) -> String) -> String {
        """
        SELECT \(chain), i / 100, i % 100, 1700000000 + (i / 100) * 12, \(random32), \(tokenSQL("i")), \(ownerSQL("i")), \(spenderSQL("i")),
            \(amountSQL("i", literal: literal))
        """
    }

    /// Transfers `j`: after the approvals of block `j / 10`, from the ordinary wallets to the treasury.
    func transferSelect(chain: Int64, random32: String, literal: ([UInt8]) -> String) -> String {
        """
        SELECT \(chain), i / 10, 100 + i % 10, 1700000000 + (i / 10) * 12, \(random32), \(tokenSQL("i")),
            \(Self.firstWalletID + Int64(heavy)) + (i * 104729) % \(wallets - heavy), \(Self.treasuryID), \(literal(Self.amounts[1]))
        """
    }

    static let approvalColumns = "(chain, block, log_index, block_time, tx_hash, token, owner, spender, value)"
    static let transferColumns = "(chain, block, log_index, block_time, tx_hash, token, sender, recipient, value)"
}
