//! `date_trunc` as DataFusion defines it, faster on UTC timestamps.
//!
//! Every timestamp of the `operations` table is `Timestamp(µs, "UTC")`.
//! DataFusion truncates a timestamp with a time zone through the zone's
//! rules, row by row, even when the zone is UTC; without a zone it truncates
//! hours and days by arithmetic. In UTC both give the same instants, so this
//! function hands UTC timestamps to DataFusion's `date_trunc` without their
//! zone and puts the zone back on the result: a daily trend over a year of
//! operations spent most of its time there.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, FieldRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::Result;
use datafusion::functions::datetime::date_trunc::DateTruncFunc;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
};

/// DataFusion's `date_trunc`, with UTC timestamps truncated as zone-less ones.
#[derive(Debug, PartialEq, Eq, Hash, Default)]
pub struct DateTruncUtc {
    inner: DateTruncFunc,
}

/// Zone names that mean UTC (no offset, no daylight saving time).
fn is_utc(tz: &str) -> bool {
    matches!(
        tz,
        "UTC" | "utc" | "Z" | "+00:00" | "+0000" | "+00" | "Etc/UTC" | "GMT" | "Etc/GMT"
    )
}

/// The array with its time zone replaced by `tz` (the values are untouched).
fn with_zone(array: &ArrayRef, tz: Option<Arc<str>>) -> Option<ArrayRef> {
    Some(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => Arc::new(
            array
                .as_primitive::<TimestampSecondType>()
                .clone()
                .with_timezone_opt(tz),
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Arc::new(
            array
                .as_primitive::<TimestampMillisecondType>()
                .clone()
                .with_timezone_opt(tz),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Arc::new(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone_opt(tz),
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Arc::new(
            array
                .as_primitive::<TimestampNanosecondType>()
                .clone()
                .with_timezone_opt(tz),
        ),
        _ => return None,
    })
}

impl ScalarUDFImpl for DateTruncUtc {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let utc_array = match args.args.get(1) {
            Some(ColumnarValue::Array(a)) => match a.data_type() {
                DataType::Timestamp(_, Some(tz)) if is_utc(tz) => Some((a.clone(), tz.clone())),
                _ => None,
            },
            _ => None,
        };
        let Some((array, tz)) = utc_array else {
            return self.inner.invoke_with_args(args);
        };
        let Some(plain) = with_zone(&array, None) else {
            return self.inner.invoke_with_args(args);
        };
        args.args[1] = ColumnarValue::Array(plain);
        match self.inner.invoke_with_args(args)? {
            ColumnarValue::Array(out) => match with_zone(&out, Some(tz)) {
                Some(out) => Ok(ColumnarValue::Array(out)),
                None => Ok(ColumnarValue::Array(out)),
            },
            ColumnarValue::Scalar(s) => Ok(ColumnarValue::Scalar(s)),
        }
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(input)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::TimestampMicrosecondArray;
    use arrow::datatypes::Field;
    use datafusion::common::ScalarValue;
    use datafusion::config::ConfigOptions;

    fn value_at(out: &ColumnarValue, i: usize) -> ScalarValue {
        match out {
            ColumnarValue::Array(a) => ScalarValue::try_from_array(a, i).unwrap(),
            ColumnarValue::Scalar(s) => s.clone(),
        }
    }

    fn run(f: &dyn ScalarUDFImpl, unit: &str, a: ArrayRef) -> ColumnarValue {
        let args = vec![
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(unit.into()))),
            ColumnarValue::Array(a.clone()),
        ];
        let arg_fields = vec![
            Arc::new(Field::new("u", DataType::Utf8, false)),
            Arc::new(Field::new("t", a.data_type().clone(), true)),
        ];
        f.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: a.len(),
            return_field: Arc::new(Field::new("r", a.data_type().clone(), true)),
            config_options: Arc::new(ConfigOptions::default()),
        })
        .unwrap()
    }

    #[test]
    fn same_instants_as_datafusion() {
        let values = vec![
            Some(1_780_000_123_456_789),
            None,
            Some(-86_400_000_001),
            Some(0),
            Some(1_781_481_599_999_999),
        ];
        for tz in ["UTC", "+00:00", "Europe/Paris"] {
            let a: ArrayRef =
                Arc::new(TimestampMicrosecondArray::from(values.clone()).with_timezone(tz));
            for unit in ["day", "hour", "minute", "week", "month", "year"] {
                let ours = run(&DateTruncUtc::default(), unit, a.clone());
                let theirs = run(&DateTruncFunc::new(), unit, a.clone());
                for i in 0..values.len() {
                    assert_eq!(value_at(&ours, i), value_at(&theirs, i), "{tz} {unit} {i}");
                }
            }
        }
    }
}
