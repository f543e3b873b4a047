import EVM
import SettleCore
import Transport

/// Typed Ethereum JSON-RPC calls over a `JSONRPCClient`.
public struct EVMNode: Sendable {
    public let rpc: JSONRPCClient

    public init(rpc: JSONRPCClient) {
        self.rpc = rpc
    }

    /// `eth_chainId`.
    public func chainID() async throws(RPCError) -> UInt64 {
        try NodeJSON.quantity(try await rpc.call("eth_chainId"), "eth_chainId")
    }

    /// `eth_blockNumber`.
    public func blockNumber() async throws(RPCError) -> UInt64 {
        try NodeJSON.height(try await rpc.call("eth_blockNumber"), "eth_blockNumber")
    }

    /// The header of one block, or nil when the node has no such block.
    public func header(_ tag: BlockTag) async throws(RPCError) -> BlockHeader? {
        try NodeJSON.optionalHeader(try await rpc.call("eth_getBlockByNumber", [tag.json, false]))
    }

    /// The header with this hash, or nil.
    public func header(hash: Hash32) async throws(RPCError) -> BlockHeader? {
        try NodeJSON.optionalHeader(try await rpc.call("eth_getBlockByHash", [.string(hash.description), false]))
    }

    /// Headers of several blocks in one batch, in the order asked; a block the node lacks is an error.
    public func headers(_ numbers: [UInt64]) async throws(RPCError) -> [BlockHeader] {
        guard !numbers.isEmpty else { return [] }
        let results = try await rpc.batch(numbers.map { .init("eth_getBlockByNumber", [BlockTag.number($0).json, false]) })
        var headers: [BlockHeader] = []
        headers.reserveCapacity(numbers.count)
        for (number, result) in zip(numbers, results) {
            let json = try result.get()
            if json.isNull { throw .malformedResponse("node has no block \(number) yet") }
            let header = try NodeJSON.header(json)
            guard header.number == number else {
                throw .malformedResponse("asked for block \(number), node answered block \(header.number)")
            }
            headers.append(header)
        }
        return headers
    }

    /// `eth_getLogs`.
    public func logs(_ filter: LogFilter) async throws(RPCError) -> [EVMLog] {
        try await rpc.call("eth_getLogs", [filter.json]) { (body, id) throws(RPCError) in
            try LogsDecoder.decode(body, id: id)
        }
    }

    /// `eth_getTransactionReceipt`; nil while unknown or pending.
    public func receipt(_ hash: Hash32) async throws(RPCError) -> EVMReceipt? {
        try NodeJSON.optionalReceipt(try await rpc.call("eth_getTransactionReceipt", [.string(hash.description)]))
    }

    /// `eth_call` at `block`; the returned bytes.
    public func call(to: EVMAddress, data: [UInt8], block: BlockTag) async throws(RPCError) -> [UInt8] {
        let request: JSON = .object([("to", .string(to.lowercaseHexPrefixed)), ("data", .string(Hex.encode(data, prefix: true)))])
        return try NodeJSON.data(try await rpc.call("eth_call", [request, block.json]), "eth_call")
    }

    /// Several `eth_call`s in one batch (each its own result).
    public func calls(_ calls: [(to: EVMAddress, data: [UInt8])], block: BlockTag) async throws(RPCError) -> [[UInt8]] {
        guard !calls.isEmpty else { return [] }
        let results = try await rpc.batch(calls.map { call in
            .init("eth_call", [.object([("to", .string(call.to.lowercaseHexPrefixed)), ("data", .string(Hex.encode(call.data, prefix: true)))]), block.json])
        })
        var out: [[UInt8]] = []
        for result in results { out.append(try NodeJSON.data(try result.get(), "eth_call")) }
        return out
    }

    /// `eth_getTransactionCount(address, "pending")`: the next nonce of `address`, counting the node's pool.
    public func pendingNonce(of address: EVMAddress) async throws(RPCError) -> UInt64 {
        try NodeJSON.height(try await rpc.call("eth_getTransactionCount", [.string(address.lowercaseHexPrefixed), "pending"]), "eth_getTransactionCount")
    }

    /// `eth_estimateGas` of a call from `from` to `to` with `data`, as the node answers it (no margin added).
    public func estimateGas(from: EVMAddress, to: EVMAddress, data: [UInt8]) async throws(RPCError) -> UInt64 {
        let request: JSON = .object([
            ("from", .string(from.lowercaseHexPrefixed)), ("to", .string(to.lowercaseHexPrefixed)), ("data", .string(Hex.encode(data, prefix: true))),
        ])
        return try NodeJSON.quantity(try await rpc.call("eth_estimateGas", [request]), "eth_estimateGas")
    }

    /// ERC-20 `balanceOf(owner)` at `block`.
    public func balanceOf(token: EVMAddress, owner: EVMAddress, block: BlockTag) async throws(RPCError) -> UInt256 {
        try Self.word(try await call(to: token, data: ERC20.balanceOf(owner: owner), block: block), "balanceOf")
    }

    /// ERC-20 `allowance(owner, spender)` at `block`.
    public func allowance(token: EVMAddress, owner: EVMAddress, spender: EVMAddress, block: BlockTag) async throws(RPCError) -> UInt256 {
        try Self.word(try await call(to: token, data: ERC20.allowance(owner: owner, spender: spender), block: block), "allowance")
    }

    static func word(_ bytes: [UInt8], _ what: String) throws(RPCError) -> UInt256 {
        guard bytes.count == 32 else { throw .malformedResponse("\(what) returned \(bytes.count) bytes, not one word") }
        do { return try UInt256(bigEndian: bytes) } catch { throw .malformedResponse("\(what): \(error.message)") }
    }
}
