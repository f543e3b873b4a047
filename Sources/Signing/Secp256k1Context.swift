import CSecp256k1

/// Owns the one libsecp256k1 context the process uses.
///
/// `@unchecked Sendable` is safe: the context is created and randomised once in `init`, before any other
/// thread can see it, and afterwards only passed as `const secp256k1_context *` to signing, verification,
/// recovery and key functions, which libsecp256k1 documents as safe to call concurrently on one context.
final class Secp256k1Context: @unchecked Sendable {
    static let shared = Secp256k1Context()

    let raw: OpaquePointer

    private init() {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            fatalError("secp256k1_context_create failed")
        }
        // Blinding against side channels; a fresh random seed each start.
        var seed = Sodium.randomBytes(32)
        _ = secp256k1_context_randomize(context, &seed)
        wipe(&seed)
        raw = context
    }
}
