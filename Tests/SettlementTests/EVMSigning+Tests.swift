import Settlement

extension EVMSigning {
    /// The stored attempt, when one was signed.
    var attempt: Attempt? {
        if case .signed(let attempt) = self { return attempt }
        return nil
    }
}
