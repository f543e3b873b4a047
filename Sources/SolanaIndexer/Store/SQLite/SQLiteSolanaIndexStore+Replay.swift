import Solana
import Store

extension SQLiteSolanaIndexStore {
    public func eventsBySignature(chain: Int64, fromSlot: UInt64, toSlot: UInt64) async throws -> [SolanaSignature: [TokenEvent]] {
        let signatures = try await database.read { db in
            let select = try db.statement("SELECT signature FROM sol_transactions WHERE chain = ? AND slot BETWEEN ? AND ?")
            select.bind(chain, at: 1)
            select.bind(Int64(clamping: fromSlot), at: 2)
            select.bind(Int64(clamping: toSlot), at: 3)
            var out: [SolanaSignature] = []
            while try select.step() { out.append(try Value.signature(select.blob(0))) }
            return out
        }
        var result = Dictionary(uniqueKeysWithValues: signatures.map { ($0, [TokenEvent]()) })
        for record in try await events(chain: chain) where record.slot >= fromSlot && record.slot <= toSlot {
            result[record.signature, default: []].append(record.event)
        }
        return result
    }
}
