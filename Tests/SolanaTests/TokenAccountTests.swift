import Solana
import Testing
import TestSupport

@Suite("Token accounts")
struct TokenAccountTests {
    @Test("165-byte accounts decode like solders TokenAccount and re-encode identically")
    func conformance() throws {
        let cases = try Vectors.load("solana_token_accounts", as: [TokenAccountCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let data = [UInt8](hex: c.hex)
            let account = try TokenAccount(data: data)
            #expect(account.mint.description == c.mint)
            #expect(account.owner.description == c.owner)
            #expect(String(account.amount) == c.amount)
            #expect(account.delegate?.description == c.delegate)
            #expect(Int(account.state.rawValue) == c.state)
            #expect(account.isNative.map { String($0) } == c.is_native)
            #expect(String(account.delegatedAmount) == c.delegated_amount)
            #expect(account.closeAuthority?.description == c.close_authority)
            #expect(account.serialized() == [UInt8](hex: c.reserialized))
            // A Token-2022 account with extensions decodes to the same base.
            #expect(try TokenAccount(data: data + [2, 7, 0, 0, 0]) == account)
        }
    }

    private func sample() -> [UInt8] {
        TokenAccount(mint: .tokenProgram, owner: .computeBudgetProgram, amount: 5, delegate: .token2022Program,
                     isNative: 2_039_280, delegatedAmount: 3, closeAuthority: .associatedTokenProgram).serialized()
    }

    private func expectCode(_ data: [UInt8], _ code: SolanaError.Code, offset: Int? = nil) {
        #expect {
            try TokenAccount(data: data)
        } throws: { error in
            guard let error = error as? SolanaError else { return false }
            return error.code == code && (offset == nil || error.offset == offset)
        }
    }

    @Test("wrong sizes are refused")
    func wrongSize() {
        let data = sample()
        #expect(data.count == 165)
        expectCode([], .invalidLength)
        expectCode(Array(data.dropLast()), .invalidLength)
        expectCode(data + [2] + [UInt8](repeating: 0, count: 355 - 166), .invalidLength)  // a multisig's size
        expectCode(data + [1], .invalidAccountType, offset: 165)
        expectCode(data + [0, 0], .invalidAccountType, offset: 165)
    }

    @Test("option tags other than 0 and 1 are refused", arguments: [72, 109, 129])
    func badOptionTag(offset: Int) {
        for tag: [UInt8] in [[2, 0, 0, 0], [1, 0, 0, 1], [0, 1, 0, 0], [0xff, 0xff, 0xff, 0xff]] {
            var data = sample()
            data.replaceSubrange(offset..<offset + 4, with: tag)
            expectCode(data, .invalidOptionTag, offset: offset)
        }
    }

    @Test("state bytes other than 1 and 2 are refused")
    func badState() throws {
        var data = sample()
        data[108] = 0
        expectCode(data, .uninitializedAccount, offset: 108)
        for state: UInt8 in [3, 0x80, 0xff] {
            data[108] = state
            expectCode(data, .invalidAccountState, offset: 108)
        }
        data[108] = 2
        #expect(try TokenAccount(data: data).state == .frozen)
    }
}
