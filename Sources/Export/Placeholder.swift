public enum ExportPlaceholder {}
