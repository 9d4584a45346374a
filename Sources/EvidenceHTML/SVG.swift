import Plot

/// SVG inside the page through Plot's generic elements. Attribute values are escaped here —
/// Plot writes them as given — although only numbers and fixed class names are passed.
enum SVG {
    typealias Body = Node<HTML.BodyContext>

    static func attribute(_ name: String, _ value: String) -> Body {
        .attribute(named: name, value: escaped(value))
    }

    static func attribute(_ name: String, _ value: Double) -> Body {
        .attribute(named: name, value: value.isFinite ? String(format: "%.1f", value) : "0")
    }

    static func element(_ name: String, _ nodes: [Body]) -> Body {
        .element(named: name, nodes: nodes)
    }

    /// The drawing itself: scales with the page, keeps its proportions, and is described for
    /// readers that do not see it.
    static func drawing(width: Double, height: Double, label: String, _ nodes: [Body]) -> Body {
        element("svg", [
            attribute("viewBox", "0 0 \(Int(width)) \(Int(height))"),
            attribute("class", "chart"),
            attribute("role", "img"),
            element("title", [.text(label)]),
        ] + nodes)
    }

    static func text(_ value: String, x: Double, y: Double, anchor: String = "start", className: String = "axis") -> Body {
        element("text", [attribute("x", x), attribute("y", y), attribute("text-anchor", anchor), attribute("class", className), .text(value)])
    }

    static func line(x1: Double, y1: Double, x2: Double, y2: Double, className: String) -> Body {
        element("line", [attribute("x1", x1), attribute("y1", y1), attribute("x2", x2), attribute("y2", y2), attribute("class", className)])
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, className: String, tooltip: String? = nil) -> Body {
        element("rect", [attribute("x", x), attribute("y", y), attribute("width", max(width, 0)), attribute("height", max(height, 0)),
                         attribute("class", className)] + (tooltip.map { [element("title", [.text($0)])] } ?? []))
    }

    static func circle(x: Double, y: Double, radius: Double, className: String, tooltip: String) -> Body {
        element("circle", [attribute("cx", x), attribute("cy", y), attribute("r", radius), attribute("class", className),
                           element("title", [.text(tooltip)])])
    }

    static func polyline(_ points: [(Double, Double)], className: String) -> Body {
        element("polyline", [attribute("points", points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")),
                             attribute("class", className)])
    }

    static func escaped(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }
}
