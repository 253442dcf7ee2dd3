//! The macros that give each SQL function its `Expr` builder and its shared
//! instance, so that a function's file holds everything about it.
//!
//! Each defines, in the function's module, `NAME` (the SQL name, which is the
//! builder's name: the two cannot drift apart), the builder, the public
//! shared instance and `instance()`, the `'static` one behind it.

/// A scalar function: `make_udf_function!(Impl, name, name_udf, "doc", arg, ...)`.
macro_rules! make_udf_function {
    ($udf:ty, $name:ident, $udf_fn:ident, $doc:literal, $($arg:ident),+) => {
        /// The SQL name: the name of the `Expr` builder.
        pub(super) const NAME: &str = stringify!($name);

        #[doc = $doc]
        pub fn $name($($arg: datafusion::logical_expr::Expr),+) -> datafusion::logical_expr::Expr {
            $udf_fn().call(vec![$($arg),+])
        }

        #[doc = concat!("The shared `", stringify!($name), "` scalar function.")]
        pub fn $udf_fn() -> std::sync::Arc<datafusion::logical_expr::ScalarUDF> {
            std::sync::Arc::clone(instance())
        }

        /// The one instance, made on first use.
        pub(super) fn instance() -> &'static std::sync::Arc<datafusion::logical_expr::ScalarUDF> {
            static UDF: std::sync::OnceLock<std::sync::Arc<datafusion::logical_expr::ScalarUDF>> =
                std::sync::OnceLock::new();
            UDF.get_or_init(|| {
                std::sync::Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(
                    <$udf>::default(),
                ))
            })
        }
    };
}

/// An aggregate function: `make_udaf_function!(Impl, name, name_udaf, "doc", arg, ...)`.
macro_rules! make_udaf_function {
    ($udaf:ty, $name:ident, $udaf_fn:ident, $doc:literal, $($arg:ident),+) => {
        /// The SQL name: the name of the `Expr` builder.
        pub(super) const NAME: &str = stringify!($name);

        #[doc = $doc]
        pub fn $name($($arg: datafusion::logical_expr::Expr),+) -> datafusion::logical_expr::Expr {
            $udaf_fn().call(vec![$($arg),+])
        }

        #[doc = concat!("The shared `", stringify!($name), "` aggregate function.")]
        pub fn $udaf_fn() -> std::sync::Arc<datafusion::logical_expr::AggregateUDF> {
            std::sync::Arc::clone(instance())
        }

        /// The one instance, made on first use.
        pub(super) fn instance() -> &'static std::sync::Arc<datafusion::logical_expr::AggregateUDF> {
            static UDAF: std::sync::OnceLock<std::sync::Arc<datafusion::logical_expr::AggregateUDF>> =
                std::sync::OnceLock::new();
            UDAF.get_or_init(|| {
                std::sync::Arc::new(datafusion::logical_expr::AggregateUDF::new_from_impl(
                    <$udaf>::default(),
                ))
            })
        }
    };
}

/// A table function: `make_udtf_function!(Impl, name, name_udtf)`. A table
/// function makes a relation, not an `Expr`, so it has no builder.
macro_rules! make_udtf_function {
    ($udtf:ty, $name:ident, $udtf_fn:ident) => {
        /// The SQL name.
        pub(super) const NAME: &str = stringify!($name);

        #[doc = concat!("The shared `", stringify!($name), "()` table function.")]
        pub fn $udtf_fn() -> std::sync::Arc<dyn datafusion::catalog::TableFunctionImpl> {
            std::sync::Arc::clone(instance()) as _
        }

        /// The one instance, made on first use.
        pub(super) fn instance() -> &'static std::sync::Arc<$udtf> {
            static UDTF: std::sync::OnceLock<std::sync::Arc<$udtf>> = std::sync::OnceLock::new();
            UDTF.get_or_init(|| std::sync::Arc::new(<$udtf>::default()))
        }
    };
}
