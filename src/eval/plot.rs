//! The report's figure: a grouped bar chart, one group per metric, one bar per method.
//!
//! plotters' bitmap backend with `ab_glyph` text and DejaVu Sans compiled in (the `dejavu`
//! crate): its default `ttf` feature would load system fonts through font-kit and fontconfig,
//! which a fresh machine may not have.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::EvalError;
use super::report::EvalReport;

const FONT: &str = "sans-serif";
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x4c, 0x72, 0xb0),
    RGBColor(0xdd, 0x84, 0x52),
    RGBColor(0x55, 0xa8, 0x68),
    RGBColor(0xc4, 0x4e, 0x52),
    RGBColor(0x81, 0x72, 0xb3),
    RGBColor(0x93, 0x78, 0x60),
];

fn register() -> Result<(), EvalError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    let loaded = *LOADED
        .get_or_init(|| register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if loaded {
        Ok(())
    } else {
        Err(EvalError::Plot(
            "the embedded DejaVu font did not load".into(),
        ))
    }
}

fn plot_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Plot(e.to_string())
}

/// Draws the report's methods × metrics as a PNG at `path`.
pub fn draw(report: &EvalReport, path: &Path) -> Result<(), EvalError> {
    register()?;
    let Some(first) = report.methods.first() else {
        return Err(EvalError::Plot("no methods to plot".into()));
    };
    let metric_names: Vec<&str> = first.metrics.named().iter().map(|(n, _)| *n).collect();
    let groups = metric_names.len();
    let methods = report.methods.len();
    let top = report
        .methods
        .iter()
        .flat_map(|m| m.metrics.named().map(|(_, v)| v))
        .fold(0.0f64, f64::max);
    let y_max = (top * 1.15).max(0.01);

    let root = BitMapBackend::new(path, (1100, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "rankd eval: {} ({} test users, split {})",
                report.dataset,
                report.counts.test_users,
                &report.split.time_utc[..10]
            ),
            (FONT, 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..groups as f64 - 0.5, 0f64..y_max)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                metric_names
                    .get(i as usize)
                    .map_or_else(String::new, |n| (*n).to_string())
            } else {
                String::new()
            }
        })
        .y_desc("mean over test users")
        .label_style((FONT, 15))
        .draw()
        .map_err(plot_err)?;

    let width = 0.8 / methods as f64;
    for (m, method) in report.methods.iter().enumerate() {
        let color = PALETTE[m % PALETTE.len()];
        let bars = method
            .metrics
            .named()
            .into_iter()
            .enumerate()
            .map(move |(g, (_, v))| {
                let x0 = g as f64 - 0.4 + m as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], color.filled())
            });
        chart
            .draw_series(bars)
            .map_err(plot_err)?
            .label(method.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        // Upper left: Recall@10 bars are the lowest in practice, HR@10 the highest.
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 15))
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}
