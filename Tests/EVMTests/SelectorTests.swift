import EVM
import SettleCore
import Testing
import TestSupport

@Suite("Selectors and event topics")
struct SelectorTests {
    @Test("match eth_utils on ERC-20 and 1,000 random signatures")
    func conformance() throws {
        let vectors = try Vectors.load("evm_selectors", as: [SelectorVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            #expect(FunctionSelector(signature: vector.signature).bytes.hex == vector.selector)
            #expect(ABI.eventTopic(signature: vector.signature).bytes32.hex == vector.topic)
            // The parsed-and-reprinted signature gives the same selector.
            let open = vector.signature.firstIndex(of: "(")!
            let name = String(vector.signature[..<open])
            let types = try ABIType.parseList(vector.signature[vector.signature.index(after: open)...].dropLast())
            #expect(FunctionSelector(name: name, parameters: types).bytes.hex == vector.selector)
        }
    }

    @Test("ERC-20 constants")
    func erc20() throws {
        #expect(ERC20.transferSelector.description == "0xa9059cbb")
        #expect(ERC20.transferFromSelector.description == "0x23b872dd")
        #expect(ERC20.approveSelector.description == "0x095ea7b3")
        #expect(ERC20.balanceOfSelector.description == "0x70a08231")
        #expect(ERC20.allowanceSelector.description == "0xdd62ed3e")
        #expect(ERC20.transferTopic.description == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
        #expect(ERC20.approvalTopic.description == "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925")
        #expect(FunctionSelector(signature: "transfer(address, uint256)") == ERC20.transferSelector)
        #expect(try FunctionSelector(bytes: [0xa9, 0x05, 0x9c, 0xbb]) == ERC20.transferSelector)
        #expect { try FunctionSelector(bytes: [1, 2, 3]) } throws: { ($0 as? EVMError)?.code == .invalidLength }
    }
}
