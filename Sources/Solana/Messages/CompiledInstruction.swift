/// An instruction inside a message: the program and accounts as indexes into the message's account list.
public struct CompiledInstruction: Hashable, Sendable {
    /// Index of the program id in the account list.
    public var programIDIndex: UInt8
    /// Indexes of the accounts, in the order the program expects them.
    public var accounts: [UInt8]
    /// The program's input.
    public var data: [UInt8]

    /// Creates a compiled instruction.
    @inlinable
    public init(programIDIndex: UInt8, accounts: [UInt8], data: [UInt8]) {
        self.programIDIndex = programIDIndex
        self.accounts = accounts
        self.data = data
    }

    /// Bytes this instruction takes on the wire.
    var encodedCount: Int {
        1 + CompactU16.encodedCount(accounts.count) + accounts.count + CompactU16.encodedCount(data.count) + data.count
    }

    /// Appends the wire form: program index, compact-u16 account count, indexes, compact-u16 data length, data.
    func append(to buffer: inout [UInt8]) {
        buffer.append(programIDIndex)
        CompactU16.append(accounts.count, to: &buffer)
        buffer.append(contentsOf: accounts)
        CompactU16.append(data.count, to: &buffer)
        buffer.append(contentsOf: data)
    }
}
