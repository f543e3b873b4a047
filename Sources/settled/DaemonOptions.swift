import ArgumentParser
import Foundation
import SettleRuntime
import Logging
import SettleConfiguration

/// Options of the commands that run on the main configuration.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Main configuration file (see README: database, chains, [stripe], [dunning], [merchant], [server]).", valueName: "path"))
    var config: String = ProcessInfo.processInfo.environment["SETTLE_CONFIG"] ?? "settle.toml"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: [log] level, else info).")
    var logLevel: Logger.Level?

    @Option(name: .long, help: "Log format: text (lines for people) or json (one object per line, for log shippers); default [log] format or $SETTLE_LOG_FORMAT.")
    var logFormat: DaemonConfig.LogFormat?

    func load() throws -> DaemonConfig {
        do { return try DaemonConfig.load(path: config) } catch { throw ValidationError(error.description) }
    }

    /// The logger, in the format and level the command line, the environment or the configuration ask for.
    func makeLogger(_ config: DaemonConfig? = nil) -> Logger {
        let level = logLevel ?? config?.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? .info
        let format = logFormat ?? config?.logFormat
            ?? ProcessInfo.processInfo.environment["SETTLE_LOG_FORMAT"].flatMap(DaemonConfig.LogFormat.init(rawValue:)) ?? .text
        LoggingBootstrap.once(format: format)
        var logger = Logger(label: "settled")
        logger.logLevel = level
        return logger
    }
}
