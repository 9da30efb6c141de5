/// The event names, touchpoints and journey names scenarios draw from. Names of neighbouring
/// phases share prefixes and suffixes (`landing_*`, `*_view`, `checkout_*`, `*_done`) so that
/// globs overlap across stages and journeys.
enum ScenarioVocabulary {
    /// Event names by funnel phase, from first contact to loyalty.
    static let phases: [[String]] = [
        [
            "ad_impression", "email_open", "landing_home", "landing_pricing", "landing_blog", "signup_started",
            "app_install",
        ],
        ["product_view", "category_view", "search_view", "compare", "wishlist_add", "pricing_view", "demo_view"],
        ["add_to_cart", "checkout_start", "checkout_shipping", "trial_start", "demo_booked", "quote_requested"],
        ["payment_done", "order_placed", "subscription_paid", "upgrade_done"],
        ["repeat_purchase", "review_posted", "referral_sent", "survey_done", "feature_used"],
    ]
    /// A stage name per phase.
    static let phaseStageNames = ["awareness", "consideration", "intent", "purchase", "loyalty"]
    /// Names that are typically pain points.
    static let critical = ["payment_failed", "support_ticket", "refund_requested", "checkout_error", "app_crash"]
    /// Names no stage lists literally; some still hit a glob such as `*_view`.
    static let noise = ["page_scroll", "heartbeat", "session_start", "cookie_consent", "newsletter_unsubscribe"]
    /// Extra names that only globs can match.
    static let globOnly = ["landing_promo", "gift_view", "trial_done", "checkout_review", "payment_pending"]
    /// Touchpoints (channels).
    static let touchpoints = ["web", "mobile", "store", "email", "ads", "support", "app"]
    static let journeyNames = ["purchase", "onboarding", "subscription", "support_flow", "loyalty"]
    /// Journey names that no configuration has, for events restricted to an unknown journey.
    static let unknownJourneyNames = ["ghost", "Purchase", "purchase ", "checkout"]

    /// Every event name a scenario may send.
    static var allNames: [String] { phases.flatMap { $0 } + critical + noise + globOnly }

    /// Customer ids that need escaping or are not ASCII, to exercise the wire format.
    static let unusualCustomerIDs = [
        "o'brien", "quote\"d", "back\\slash", "tab\there", "ünïcødé", "emoji-😀", "line\u{2028}sep", "ctrl\u{01}char",
        "slash/ed", "新しい顧客",
    ]
}
