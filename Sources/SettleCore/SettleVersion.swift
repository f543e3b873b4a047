/// This build's version: what `settled --version` prints and what each schema migration records as its writer, so a
/// database that is newer than a daemon names the release that wrote it.
public enum SettleVersion {
    public static let current = "0.15.0"
}
