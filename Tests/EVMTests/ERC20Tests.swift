import EVM
import SettleCore
import Testing
import TestSupport

@Suite("ERC-20")
struct ERC20Tests {
    @Test("calldata matches eth_abi on 1,000 random calls")
    func calldata() throws {
        let vectors = try Vectors.load("evm_erc20_calls", as: [ERC20CallVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let args = vector.args
            func address(_ i: Int) throws -> EVMAddress { try EVMAddress(hex: args[i]) }
            func amount(_ i: Int) throws -> UInt256 { try UInt256(decimal: args[i]) }
            let built: [UInt8]
            let types: [ABIType]
            switch vector.function {
            case "transfer":
                built = ERC20.transfer(to: try address(0), amount: try amount(1))
                types = [.address, .uint256]
            case "transferFrom":
                built = ERC20.transferFrom(from: try address(0), to: try address(1), amount: try amount(2))
                types = [.address, .address, .uint256]
            case "approve":
                built = ERC20.approve(spender: try address(0), amount: try amount(1))
                types = [.address, .uint256]
            case "balanceOf":
                built = ERC20.balanceOf(owner: try address(0))
                types = [.address]
            case "allowance":
                built = ERC20.allowance(owner: try address(0), spender: try address(1))
                types = [.address, .address]
            default:
                Issue.record("unknown function \(vector.function)")
                continue
            }
            #expect(built.hex == vector.calldata, "\(vector.function)")
            // The generic encoder agrees with the fast builders.
            let values: [ABIValue] = try zip(types, args).map { type, arg in
                type == .address ? .address(try EVMAddress(hex: arg)) : .uint(try UInt256(decimal: arg))
            }
            let selector = FunctionSelector(name: vector.function, parameters: types)
            #expect(try ABI.encodeCall(selector, values, as: types) == built)
        }
    }

    @Test("Transfer and Approval logs decode to typed events on 1,000 random logs")
    func logs() throws {
        let vectors = try Vectors.load("evm_erc20_logs", as: [ERC20LogVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let topics = try vector.topics.map { try Hash32(hex: $0) }
            let event = try ERC20Event(topics: topics, data: [UInt8](hex: vector.data))
            let first = try EVMAddress(hex: vector.first)
            let second = try EVMAddress(hex: vector.second)
            let value = try UInt256(decimal: vector.value)
            let expected: ERC20Event = vector.event == "Transfer"
                ? .transfer(from: first, to: second, value: value)
                : .approval(owner: first, spender: second, value: value)
            #expect(event == expected)
            #expect(event.log.topics == topics)
            #expect(event.log.data.hex == vector.data)
        }
    }

    @Test("logs that are not ERC-20 Transfer/Approval are rejected")
    func badLogs() throws {
        let a = try EVMAddress(bytes: [UInt8](repeating: 1, count: 20))
        let good = ERC20Event.transfer(from: a, to: a, value: .one).log
        func code(_ topics: [Hash32], _ data: [UInt8]) -> EVMError.Code? {
            do {
                _ = try ERC20Event(topics: topics, data: data)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(good.topics, good.data) == nil)
        #expect(code(good.topics + [Hash32.zero], []) == .logMismatch)        // ERC-721 Transfer
        #expect(code(Array(good.topics.prefix(2)), good.data) == .logMismatch)
        #expect(code([Hash32.zero] + good.topics.dropFirst(), good.data) == .logMismatch)
        #expect(code(good.topics, Array(good.data.dropLast())) == .abiTruncated)
        #expect(code(good.topics, good.data + [0]) == .logMismatch)
        var dirty = good.topics[1].bytes
        dirty[0] = 1
        #expect(code([good.topics[0], try Hash32(bytes: dirty), good.topics[2]], good.data) == .abiNonZeroPadding)
    }
}
