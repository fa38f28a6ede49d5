public enum TimbreVersion {
    /// Recorded with trained models and evaluation runs.
    public static let string = "0.1.0"
}
