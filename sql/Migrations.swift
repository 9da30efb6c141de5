/// The schema migrations of cjmd, embedded in the binary so that an installed `cjmd` needs
/// no data files. Sources of truth: `sql/migrations/*.sql`; a test checks that this list
/// names every file there.
public enum SchemaMigrations {
    /// One migration: its version (the file's number), name and SQL text.
    public struct Migration: Sendable {
        /// The number at the start of the file name; applied in ascending order.
        public let version: Int
        /// The file name without number and extension.
        public let name: String
        /// The SQL, applied in one transaction.
        public let sql: String

        init(_ version: Int, _ name: String, _ bytes: [UInt8]) {
            self.version = version
            self.name = name
            self.sql = String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Every migration, in order.
    public static let all: [Migration] = [
        Migration(1, "initial", PackageResources._01_initial_sql),
        Migration(2, "views", PackageResources._02_views_sql),
        Migration(3, "reader_grants", PackageResources._03_reader_grants_sql),
        Migration(4, "alerts", PackageResources._04_alerts_sql),
        Migration(5, "funnel_totals", PackageResources._05_funnel_totals_sql),
        Migration(6, "batch_token", PackageResources._06_batch_token_sql),
        Migration(7, "batch_journal", PackageResources._07_batch_journal_sql),
        Migration(8, "touchpoint_customer_counts", PackageResources._08_touchpoint_customer_counts_sql),
        Migration(9, "writer_fence", PackageResources._09_writer_fence_sql),
        Migration(10, "bucket_bounds_in_one_place", PackageResources._10_bucket_bounds_in_one_place_sql),
        Migration(11, "alert_p_value", PackageResources._11_alert_p_value_sql),
        Migration(12, "storage_view", PackageResources._12_storage_view_sql),
        Migration(13, "day_partitions", PackageResources._13_day_partitions_sql),
        Migration(14, "compact_events", PackageResources._14_compact_events_sql),
        Migration(15, "sealed_history", PackageResources._15_sealed_history_sql),
        Migration(16, "seal_queue", PackageResources._16_seal_queue_sql),
        Migration(17, "context_and_traits", PackageResources._17_context_and_traits_sql),
        Migration(18, "journey_map", PackageResources._18_journey_map_sql),
        Migration(19, "personas", PackageResources._19_personas_sql),
        Migration(20, "repeat_loop", PackageResources._20_repeat_loop_sql),
        Migration(21, "partitions", PackageResources._21_partitions_sql),
        Migration(22, "partition_sealing", PackageResources._22_partition_sealing_sql),
    ]
}
