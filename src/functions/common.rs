//! Helpers shared by the SQL functions: argument coercions, reading status
//! strings of any string type and timestamps of any unit without a per-row
//! allocation, and the bodies that pairs of functions share.

use std::sync::{Arc, OnceLock};

use arrow::array::builder::make_view;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArrayType, StringViewArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::{
    DataType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::types::{NativeType, logical_date, logical_string};
use datafusion::common::{Result, ScalarValue, exec_err, utils::take_function_args};
use datafusion::logical_expr::{
    Coercion, ColumnarValue, ScalarFunctionArgs, Signature, TypeSignatureClass, Volatility,
};

use crate::status::Status;

/// Coercion of a status argument: any string type (Utf8, LargeUtf8, Utf8View;
/// dictionaries are unpacked by the planner), kept as it is.
pub(crate) fn string_arg() -> Coercion {
    Coercion::new_exact(TypeSignatureClass::Native(logical_string()))
}

/// Coercion of a timestamp argument: any timestamp unit and time zone, kept as
/// it is; strings and dates are cast to `Timestamp(Microsecond, "UTC")`.
pub(crate) fn timestamp_arg() -> Coercion {
    Coercion::new_implicit(
        TypeSignatureClass::Timestamp,
        vec![
            TypeSignatureClass::Native(logical_string()),
            TypeSignatureClass::Native(logical_date()),
        ],
        NativeType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(crate::schema::UTC))),
    )
}

/// The signature of a function of one status: any string type, kept as it is.
pub(crate) fn status_signature() -> Signature {
    Signature::coercible(vec![string_arg()], Volatility::Immutable)
}

/// The signature of a function of two timestamps (see [`timestamp_arg`]).
pub(crate) fn two_timestamps_signature() -> Signature {
    Signature::coercible(
        vec![timestamp_arg(), timestamp_arg()],
        Volatility::Immutable,
    )
}

/// The body of `is_terminal` and `is_failed`: applies `pred` to the parsed
/// status of the one argument; NULL stays NULL.
pub(crate) fn status_test(
    name: &str,
    args: &ScalarFunctionArgs,
    pred: impl Fn(Option<Status>) -> bool,
) -> Result<ColumnarValue> {
    let [status] = take_function_args(name, &args.args)?;
    match status {
        ColumnarValue::Scalar(value) => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(
            scalar_status(value)?.map(pred),
        ))),
        ColumnarValue::Array(array) => Ok(ColumnarValue::Array(Arc::new(status_predicate(
            array, pred,
        )?))),
    }
}

/// Evaluates `pred` on the parsed status of every row of a string array.
///
/// The result is NULL exactly where the input is NULL; `pred` receives `None`
/// for text that is not a known status.
pub(crate) fn status_predicate(
    array: &ArrayRef,
    pred: impl Fn(Option<Status>) -> bool,
) -> Result<BooleanArray> {
    fn eval(
        array: &dyn Array,
        status_at: impl Fn(usize) -> Option<Status>,
        pred: impl Fn(Option<Status>) -> bool,
    ) -> BooleanArray {
        // NULL slots are not read (a view array may hold anything there);
        // the validity mask is carried over unchanged.
        let nulls = array.logical_nulls();
        let values = BooleanBuffer::collect_bool(array.len(), |i| {
            nulls.as_ref().is_none_or(|n| n.is_valid(i)) && pred(status_at(i))
        });
        BooleanArray::new(values, nulls)
    }
    fn parsed<'a, S: StringArrayType<'a>>(strings: S) -> impl Fn(usize) -> Option<Status> {
        move |i| Status::parse(strings.value(i))
    }

    Ok(match array.data_type() {
        DataType::Utf8 => eval(array, parsed(array.as_string::<i32>()), pred),
        DataType::LargeUtf8 => eval(array, parsed(array.as_string::<i64>()), pred),
        DataType::Utf8View => eval(array, view_status(array.as_string_view()), pred),
        DataType::Null => BooleanArray::new_null(array.len()),
        DataType::Dictionary(_, _) => {
            let Some(dict) = array.as_any_dictionary_opt() else {
                return exec_err!("expected a dictionary array, got {}", array.data_type());
            };
            // Evaluate once per distinct value, then spread over the keys.
            let per_value = status_predicate(dict.values(), pred)?;
            let taken = arrow::compute::take(&per_value, dict.keys(), None)?;
            taken.as_boolean().clone()
        }
        other => return exec_err!("expected a string status, got {other}"),
    })
}

/// The view of each status's canonical spelling.
fn canonical_views() -> &'static [(u128, Status); 6] {
    static CANONICAL: OnceLock<[(u128, Status); 6]> = OnceLock::new();
    CANONICAL.get_or_init(|| Status::ALL.map(|s| (make_view(s.as_str().as_bytes(), 0, 0), s)))
}

/// Adds each row of `strings` whose status is successful to
/// `successful[groups[row]]` and each failed one to `failed[groups[row]]`;
/// the body of `failure_rate` over the `status` column. A row spelled as the
/// column spells them costs two integer comparisons (see [`view_status`]);
/// other text is parsed; NULL rows count nowhere.
pub(crate) fn count_outcomes(
    strings: &StringViewArray,
    groups: &[usize],
    successful: &mut [u64],
    failed: &mut [u64],
) {
    let (s, f) = (
        make_view(Status::Successful.as_str().as_bytes(), 0, 0),
        make_view(Status::Failed.as_str().as_bytes(), 0, 0),
    );
    let canonical = canonical_views();
    let nulls = strings.logical_nulls().filter(|n| n.null_count() > 0);
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    for (i, (&view, &group)) in strings.views().iter().zip(groups).enumerate() {
        if view == s {
            successful[group] += u64::from(valid(i));
        } else if view == f {
            failed[group] += u64::from(valid(i));
        } else if !canonical.iter().any(|(v, _)| *v == view) && valid(i) {
            match Status::parse(strings.value(i)) {
                Some(Status::Successful) => successful[group] += 1,
                Some(Status::Failed) => failed[group] += 1,
                _ => {}
            }
        }
    }
}

/// The status of row `i` of a view array. Every canonical spelling (the
/// `status` column's) fits in 12 bytes, so a view array holds it inside the
/// row's 16-byte view: a row is matched by comparing that one integer with
/// the six canonical views, and only other text is parsed. (A view whose
/// padding is not zero just takes the parse.)
fn view_status(strings: &StringViewArray) -> impl Fn(usize) -> Option<Status> + '_ {
    let canonical = canonical_views();
    let views = strings.views();
    move |i| {
        let view = views[i];
        match canonical.iter().find(|(v, _)| *v == view) {
            Some((_, status)) => Some(*status),
            None => Status::parse(strings.value(i)),
        }
    }
}

/// Calls `f(row, status)` for every non-NULL row of a string array whose text
/// is a known status (unknown text and NULL are skipped).
pub(crate) fn for_each_status(array: &ArrayRef, f: impl FnMut(usize, Status)) -> Result<()> {
    fn each(
        array: &dyn Array,
        status_at: impl Fn(usize) -> Option<Status>,
        mut f: impl FnMut(usize, Status),
    ) {
        let visit = |i: usize| {
            if let Some(status) = status_at(i) {
                f(i, status);
            }
        };
        match array.logical_nulls() {
            Some(nulls) if nulls.null_count() > 0 => nulls.valid_indices().for_each(visit),
            _ => (0..array.len()).for_each(visit),
        }
    }
    fn parsed<'a, S: StringArrayType<'a>>(strings: S) -> impl Fn(usize) -> Option<Status> {
        move |i| Status::parse(strings.value(i))
    }

    match array.data_type() {
        DataType::Utf8 => each(array, parsed(array.as_string::<i32>()), f),
        DataType::LargeUtf8 => each(array, parsed(array.as_string::<i64>()), f),
        DataType::Utf8View => each(array, view_status(array.as_string_view()), f),
        DataType::Null => {}
        DataType::Dictionary(_, value_type) => {
            let plain = arrow::compute::cast(array, value_type)?;
            return for_each_status(&plain, f);
        }
        other => return exec_err!("expected a string status, got {other}"),
    }
    Ok(())
}

/// The status of a scalar string argument: `Ok(None)` for NULL, `Ok(Some(None))`
/// for text that is not a known status.
pub(crate) fn scalar_status(value: &ScalarValue) -> Result<Option<Option<Status>>> {
    match value.try_as_str() {
        Some(text) => Ok(text.map(Status::parse)),
        None if value.is_null() => Ok(None),
        None => exec_err!("expected a string status, got {}", value.data_type()),
    }
}

/// Whether row `i` passes an optional aggregate `FILTER` (NULL counts as false).
#[inline]
pub(crate) fn passes_filter(filter: Option<&BooleanArray>, i: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(i) && f.value(i))
}

/// The body of `op_duration_seconds` and `op_queue_seconds`: seconds from the
/// first argument to the second; NULL when either is NULL or the second is
/// earlier.
pub(crate) fn elapsed_seconds(name: &str, args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let [from, to] = take_function_args(name, &args.args)?;
    if let (ColumnarValue::Scalar(from), ColumnarValue::Scalar(to)) = (from, to) {
        let (Timestamps::Scalar(from), Timestamps::Scalar(to)) =
            (Timestamps::from_scalar(from)?, Timestamps::from_scalar(to)?)
        else {
            unreachable!("from_scalar always gives a scalar");
        };
        let seconds = from.zip(to).and_then(|(f, t)| seconds_between(f, t));
        return Ok(ColumnarValue::Scalar(ScalarValue::Float64(seconds)));
    }
    let from = Timestamps::from_value(from)?;
    let to = Timestamps::from_value(to)?;
    let result = seconds_between_arrays(&from, &to, args.number_rows);
    Ok(ColumnarValue::Array(Arc::new(result)))
}

/// A timestamp argument: an array's raw values, or one scalar value, in `unit`.
pub(crate) enum Timestamps<'a> {
    /// A timestamp array: its raw values, validity and unit.
    Array {
        values: &'a [i64],
        nulls: Option<&'a NullBuffer>,
        unit: TimeUnit,
    },
    /// A scalar, or a column of the Null type (`None`).
    Scalar(Option<(i64, TimeUnit)>),
}

impl<'a> Timestamps<'a> {
    /// Reads an array of any timestamp unit (time zone ignored: the values are
    /// UTC instants; a zone-less value is read as UTC).
    pub(crate) fn from_array(array: &'a ArrayRef) -> Result<Self> {
        let (values, nulls, unit): (&[i64], _, _) = match array.data_type() {
            DataType::Null => return Ok(Timestamps::Scalar(None)),
            DataType::Timestamp(TimeUnit::Second, _) => {
                let a = array.as_primitive::<TimestampSecondType>();
                (a.values(), a.nulls(), TimeUnit::Second)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                let a = array.as_primitive::<TimestampMillisecondType>();
                (a.values(), a.nulls(), TimeUnit::Millisecond)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                let a = array.as_primitive::<TimestampMicrosecondType>();
                (a.values(), a.nulls(), TimeUnit::Microsecond)
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                let a = array.as_primitive::<TimestampNanosecondType>();
                (a.values(), a.nulls(), TimeUnit::Nanosecond)
            }
            other => return exec_err!("expected a timestamp, got {other}"),
        };
        Ok(Timestamps::Array {
            values,
            nulls,
            unit,
        })
    }

    /// Reads an argument, array or scalar.
    fn from_value(value: &'a ColumnarValue) -> Result<Self> {
        match value {
            ColumnarValue::Array(array) => Timestamps::from_array(array),
            ColumnarValue::Scalar(scalar) => Timestamps::from_scalar(scalar),
        }
    }

    /// Reads a scalar timestamp of any unit; NULL (of any type) gives `None`.
    pub(crate) fn from_scalar(value: &ScalarValue) -> Result<Self> {
        let ts = match value {
            ScalarValue::TimestampSecond(v, _) => v.map(|v| (v, TimeUnit::Second)),
            ScalarValue::TimestampMillisecond(v, _) => v.map(|v| (v, TimeUnit::Millisecond)),
            ScalarValue::TimestampMicrosecond(v, _) => v.map(|v| (v, TimeUnit::Microsecond)),
            ScalarValue::TimestampNanosecond(v, _) => v.map(|v| (v, TimeUnit::Nanosecond)),
            v if v.is_null() => None,
            v => return exec_err!("expected a timestamp, got {}", v.data_type()),
        };
        Ok(Timestamps::Scalar(ts))
    }

    fn unit(&self) -> Option<TimeUnit> {
        match self {
            Timestamps::Array { unit, .. } => Some(*unit),
            Timestamps::Scalar(v) => v.map(|(_, unit)| unit),
        }
    }

    fn is_all_null(&self) -> bool {
        matches!(self, Timestamps::Scalar(None))
    }
}

/// Ticks of `unit` in one second.
fn ticks_per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// Seconds from `from` to `to` (both `(value, unit)`), `None` when `to` is
/// earlier than `from`. Exact in the finer unit of the two, then rounded once
/// to the nearest `f64`.
pub(crate) fn seconds_between(from: (i64, TimeUnit), to: (i64, TimeUnit)) -> Option<f64> {
    let common = finer(from.1, to.1);
    let per_second = ticks_per_second(common);
    let fm = i128::from(per_second / ticks_per_second(from.1));
    let tm = i128::from(per_second / ticks_per_second(to.1));
    let diff = i128::from(to.0) * tm - i128::from(from.0) * fm;
    #[expect(
        clippy::cast_precision_loss,
        reason = "rounded once to the nearest f64"
    )]
    (diff >= 0).then(|| diff as f64 / per_second as f64)
}

fn finer(a: TimeUnit, b: TimeUnit) -> TimeUnit {
    if ticks_per_second(a) >= ticks_per_second(b) {
        a
    } else {
        b
    }
}

/// Seconds from `from` to `to`, row by row, over `len` rows: NULL where either
/// is NULL or `to` is earlier than `from`.
pub(crate) fn seconds_between_arrays(
    from: &Timestamps<'_>,
    to: &Timestamps<'_>,
    len: usize,
) -> arrow::array::Float64Array {
    use arrow::array::Float64Array;

    if from.is_all_null() || to.is_all_null() {
        return Float64Array::new_null(len);
    }
    let (Some(from_unit), Some(to_unit)) = (from.unit(), to.unit()) else {
        return Float64Array::new_null(len);
    };
    let common = finer(from_unit, to_unit);
    let per_second = ticks_per_second(common);
    let fm = i128::from(per_second / ticks_per_second(from_unit));
    let tm = i128::from(per_second / ticks_per_second(to_unit));
    #[expect(
        clippy::cast_precision_loss,
        reason = "ticks per second are exact in f64"
    )]
    let per_second = per_second as f64;

    let value_at = |ts: &Timestamps<'_>, i: usize| -> i64 {
        match ts {
            Timestamps::Array { values, .. } => values[i],
            Timestamps::Scalar(v) => v.map_or(0, |(v, _)| v),
        }
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "rounded once to the nearest f64"
    )]
    let seconds: Vec<f64> = (0..len)
        .map(|i| {
            let diff = i128::from(value_at(to, i)) * tm - i128::from(value_at(from, i)) * fm;
            diff as f64 / per_second
        })
        .collect();

    let nulls_of = |ts: &Timestamps<'_>| -> Option<NullBuffer> {
        match ts {
            Timestamps::Array { nulls, .. } => nulls.cloned(),
            Timestamps::Scalar(_) => None,
        }
    };
    let non_negative = NullBuffer::new(BooleanBuffer::collect_bool(len, |i| seconds[i] >= 0.0));
    let nulls = NullBuffer::union(
        NullBuffer::union(nulls_of(from).as_ref(), nulls_of(to).as_ref()).as_ref(),
        Some(&non_negative),
    );
    Float64Array::new(seconds.into(), nulls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_rows_read_as_their_text_parses() {
        let texts = [
            Some("failed"),
            Some("successful"),
            Some("inProgress"),
            Some("queued"),
            Some("scheduled"),
            Some("cancelled"),
            None,
            Some("Failed"),
            Some("succeeded"),
            Some("canceled"),
            Some("INPROGRESS"),
            Some("weird"),
            Some(""),
            // Longer than a view holds inline.
            Some("successful-but-longer"),
        ];
        let views: ArrayRef = Arc::new(StringViewArray::from_iter(texts));
        let mut seen = Vec::new();
        for_each_status(&views, |row, status| seen.push((row, status))).unwrap();
        let want: Vec<(usize, Status)> = texts
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i, Status::parse((*t)?)?)))
            .collect();
        assert_eq!(seen, want);
        assert_eq!(seen.len(), 10);
        let failed = status_predicate(&views, |s| s == Some(Status::Failed)).unwrap();
        let got: Vec<Option<bool>> = failed.iter().collect();
        let mut expected = vec![Some(false); texts.len()];
        expected[0] = Some(true);
        expected[6] = None;
        expected[7] = Some(true);
        assert_eq!(got, expected);
    }

    #[test]
    fn mixed_units_are_exact() {
        // 1 s in seconds to 1.5 s in milliseconds.
        assert_eq!(
            seconds_between((1, TimeUnit::Second), (1_500, TimeUnit::Millisecond)),
            Some(0.5)
        );
        // One nanosecond.
        assert_eq!(
            seconds_between((0, TimeUnit::Microsecond), (1, TimeUnit::Nanosecond)),
            Some(1e-9)
        );
        assert_eq!(
            seconds_between((2, TimeUnit::Second), (1, TimeUnit::Second)),
            None
        );
        assert_eq!(
            seconds_between((i64::MAX, TimeUnit::Second), (i64::MAX, TimeUnit::Second)),
            Some(0.0)
        );
    }
}
