/// The `result` label of `cjmd_reloads_total`.
public enum ReloadResult: String, CaseIterable, Sendable {
    /// The new configuration was read, validated and applied.
    case success
    /// The new configuration was rejected; the previous one stays in force.
    case failure
}
