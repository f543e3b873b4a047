import SettleCore

/// ERC-20 function selectors, event topics and calldata builders.
///
/// The builders write the calldata straight into one exactly-sized array (the hot path of building a transfer).
public enum ERC20 {
    /// `transfer(address,uint256)`: 0xa9059cbb.
    public static let transferSelector = FunctionSelector(signature: "transfer(address,uint256)")
    /// `transferFrom(address,address,uint256)`: 0x23b872dd.
    public static let transferFromSelector = FunctionSelector(signature: "transferFrom(address,address,uint256)")
    /// `approve(address,uint256)`: 0x095ea7b3.
    public static let approveSelector = FunctionSelector(signature: "approve(address,uint256)")
    /// `balanceOf(address)`: 0x70a08231.
    public static let balanceOfSelector = FunctionSelector(signature: "balanceOf(address)")
    /// `allowance(address,address)`: 0xdd62ed3e.
    public static let allowanceSelector = FunctionSelector(signature: "allowance(address,address)")

    /// Topic 0 of `Transfer(address indexed from, address indexed to, uint256 value)`.
    public static let transferTopic = ABI.eventTopic(signature: "Transfer(address,address,uint256)")
    /// Topic 0 of `Approval(address indexed owner, address indexed spender, uint256 value)`.
    public static let approvalTopic = ABI.eventTopic(signature: "Approval(address,address,uint256)")

    /// Calldata of `transfer(to, amount)`.
    public static func transfer(to: EVMAddress, amount: UInt256) -> [UInt8] {
        calldata(transferSelector, words: 2) { writer in
            writer.address(to)
            writer.uint(amount)
        }
    }

    /// Calldata of `transferFrom(from, to, amount)`.
    public static func transferFrom(from: EVMAddress, to: EVMAddress, amount: UInt256) -> [UInt8] {
        calldata(transferFromSelector, words: 3) { writer in
            writer.address(from)
            writer.address(to)
            writer.uint(amount)
        }
    }

    /// Calldata of `approve(spender, amount)`.
    public static func approve(spender: EVMAddress, amount: UInt256) -> [UInt8] {
        calldata(approveSelector, words: 2) { writer in
            writer.address(spender)
            writer.uint(amount)
        }
    }

    /// Calldata of `balanceOf(owner)`.
    public static func balanceOf(owner: EVMAddress) -> [UInt8] {
        calldata(balanceOfSelector, words: 1) { writer in writer.address(owner) }
    }

    /// Calldata of `allowance(owner, spender)`.
    public static func allowance(owner: EVMAddress, spender: EVMAddress) -> [UInt8] {
        calldata(allowanceSelector, words: 2) { writer in
            writer.address(owner)
            writer.address(spender)
        }
    }

    private static func calldata(_ selector: FunctionSelector, words: Int, _ body: (inout WordWriter) -> Void)
        -> [UInt8]
    {
        let count = 4 + 32 * words
        return [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
            let raw = UnsafeMutableRawBufferPointer(storage)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.storeBytes(of: selector.rawValue.bigEndian, toByteOffset: 0, as: UInt32.self)
            var writer = WordWriter(buffer: raw, position: 4)
            body(&writer)
            precondition(writer.position == count, "calldata size disagrees with the words written")
            initialized = count
        }
    }

    /// Writes 32-byte ABI words into a zero-filled buffer.
    private struct WordWriter {
        let buffer: UnsafeMutableRawBufferPointer
        var position: Int

        mutating func address(_ address: EVMAddress) {
            precondition(position + 32 <= buffer.count, "calldata buffer overflow")
            address.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: buffer[position + 12..<position + 32]).copyMemory(from: bytes)
            }
            position += 32
        }

        mutating func uint(_ value: UInt256) {
            precondition(position + 32 <= buffer.count, "calldata buffer overflow")
            let bytes = value.bytes32
            bytes.withUnsafeBytes { word in
                UnsafeMutableRawBufferPointer(rebasing: buffer[position..<position + 32]).copyMemory(from: word)
            }
            position += 32
        }
    }
}
