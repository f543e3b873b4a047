extension RLPItem {
    /// The canonical RLP encoding.
    public func encoded() -> [UInt8] {
        RLPWriter.encode(count: encodedLength) { writer in write(to: &writer) }
    }

    /// The length of the canonical encoding.
    public var encodedLength: Int {
        switch self {
        case .bytes(let bytes):
            return RLPWriter.stringLength(count: bytes.count, first: bytes.first)
        case .list(let items):
            let payload = payloadLength(of: items)
            return RLPWriter.headerLength(payload: payload) + payload
        }
    }

    private func payloadLength(of items: [RLPItem]) -> Int {
        items.reduce(0) { $0 + $1.encodedLength }
    }

    func write(to writer: inout RLPWriter) {
        switch self {
        case .bytes(let bytes):
            bytes.withUnsafeBytes { writer.string($0) }
        case .list(let items):
            writer.listHeader(payload: payloadLength(of: items))
            for item in items { item.write(to: &writer) }
        }
    }
}
